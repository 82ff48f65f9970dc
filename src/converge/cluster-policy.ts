/**
 * What distinguishes the two ways a replicated database is upgraded, as data. The phases of
 * cluster-run.ts read these fields and never ask which mode they are in.
 *
 * automated (`run`, e.g. %posttrans on every server at once): nothing is frozen; another server's
 *   upgrade is waited for, then this run applies only what does not wait for it; an unattended run
 *   does not finish another server's step; steps that are not backward compatible wait until every
 *   known server runs a package that ships them.
 * manual (`cluster upgrade`, an administrator on one server): the other suppliers are frozen while
 *   the cluster steps are applied; another upgrade running is an error; a step another server left
 *   unfinished is resumed; --force applies steps that are not backward compatible.
 */
export interface ClusterPolicy {
  name: 'automated' | 'manual';
  /** With no cluster-scope step pending, still look at the cluster (lift leftover freezes, say so). */
  coordinateWithoutClusterSteps: boolean;
  /** Say so when the suffix is not replicated at all. */
  warnStandalone: boolean;
  /** Another server's live claim: wait for it, then apply only what does not need the claim; or refuse. */
  rivalClaim: 'back off' | 'refuse';
  /** The other suppliers refuse client writes while the cluster steps are applied. */
  freezeOthers: boolean;
  /** A cluster step another server started and never finished. */
  foreignInterrupted: 'refuse' | 'resume';
  /** A step that is not backward compatible while some server does not ship it yet. */
  incompatible: 'hold back' | 'apply';
  /** The advice that ends the held-back warning. */
  heldBackAdvice: string;
}

export const AUTOMATED: ClusterPolicy = {
  name: 'automated',
  coordinateWithoutClusterSteps: false,
  warnStandalone: false,
  rivalClaim: 'back off',
  freezeOthers: false,
  foreignInterrupted: 'refuse',
  incompatible: 'hold back',
  heldBackAdvice: 'the next upgrade run applies it, or run pki-db-upgrade cluster upgrade --force',
};

export function manualPolicy(options: { force: boolean }): ClusterPolicy {
  return {
    name: 'manual',
    coordinateWithoutClusterSteps: true,
    warnStandalone: true,
    rivalClaim: 'refuse',
    freezeOthers: true,
    foreignInterrupted: 'resume',
    incompatible: options.force ? 'apply' : 'hold back',
    heldBackAdvice: 'or pass --force to apply it now',
  };
}
