/**
 * The freeze of `cluster upgrade`: write access disabled on the other suppliers while this one is
 * upgraded (docs/cluster.md, "The freeze, and why this one").
 *
 * A freeze that blocks every client write yet still lets replication in does not exist in 389 DS
 * 2.3 for a server whose clients bind as cn=Directory Manager (the Dogtag CS.cfg default). Tried:
 * - an ACI: the root DN bypasses access control;
 * - `nsslapd-state: referral on update` on the suffix's mapping tree node: the replication plugin
 *   resets it to `backend` at the next incoming replication session;
 * - demoting the supplier to a read-only hub and promoting it back (dsconf replication
 *   demote/promote): blocks writes and lets replication in, but ns-slapd 2.3 crashed on the
 *   promotion in our tests, and again when recovering after a restart - not acceptable.
 *
 * So the freeze is `nsslapd-readonly: on` on the suffix's backend of every other supplier (every
 * client write, Directory Manager's included, gets 53 unwilling to perform), held while this
 * server applies the upgrade, and lifted before the convergence wait: read-only also refuses
 * replicated changes (the sender backs off for up to 300 s), so the thaw "pokes" each agreement
 * that feeds the server (nsds5ReplicaEnabled off, then on: what `dsconf repl-agmt poke` does) and
 * the upgrade reaches it at once. The order of `cluster upgrade` is thus: freeze, upgrade, thaw, wait
 * for convergence - the others take no writes while the upgrade is applied, and get its changes a
 * replication round-trip after they accept writes again.
 *
 * Before changing anything the freeze adds a marker entry to that server's cn=config (local: it
 * does not replicate) recording who froze it and the previous setting, so the thaw restores it
 * exactly and the next run finds and lifts a freeze a crashed run left behind.
 */
import type { LdapSession, Modification } from '../core/directory';
import { backendConfigDN, findBackend } from '../ldap/backend';
import { escapeRdnValue } from '../ldap/filter';
import { ldifAdd, ldifDelete, ldifModify } from '../ldap/ldif';
import type { Agreement } from './agreements';
import type { ClusterMember } from './topology';

const MARKER_PREFIX = 'pki-db-upgrade freeze: ';

export interface FreezeMarker {
  /** The upgrading server (history id). */
  by: string;
  run: string;
  at: string;
  /** The backend entry whose nsslapd-readonly the freeze set, and its value before. */
  backendDN: string;
  readonlyBefore: string;
}

export interface FreezeState {
  markerDN: string;
  backendDN: string;
  readonly: string;
  marker?: FreezeMarker;
}

export function markerDN(suffix: string): string {
  return `cn=${escapeRdnValue(`pki-db-upgrade freeze ${suffix}`)},cn=config`;
}

export async function readFreezeState(ldap: LdapSession, suffix: string): Promise<FreezeState> {
  const backendDN = backendConfigDN(await findBackend(ldap, suffix));
  const [backend, entry] = await Promise.all([ldap.read(backendDN, ['nsslapd-readonly']), ldap.read(markerDN(suffix), ['description'])]);
  const value = entry?.values('description').find((v) => v.startsWith(MARKER_PREFIX));
  let marker: FreezeMarker | undefined;
  if (value) {
    try {
      marker = JSON.parse(value.slice(MARKER_PREFIX.length)) as FreezeMarker;
    } catch {
      marker = undefined;
    }
  }
  return { markerDN: markerDN(suffix), backendDN, readonly: backend?.first('nsslapd-readonly') ?? 'off', marker };
}

/** An agreement of another server that sends to the frozen one: poked on thaw. */
export interface Feeder {
  from: ClusterMember;
  agreement: Agreement;
}

export interface FreezeTarget {
  member: ClusterMember;
  suffix: string;
  state: FreezeState;
  marker: FreezeMarker;
  feeders: Feeder[];
}

/** What freezing `member` would do (reads only: for the plan and the dry-run). */
export async function planFreeze(member: ClusterMember, by: { server: string; run: string; at: Date }, suffix: string, feeders: Feeder[]): Promise<FreezeTarget> {
  const state = await readFreezeState(member.session!, suffix);
  return {
    member,
    suffix,
    state,
    feeders,
    marker: { by: by.server, run: by.run, at: by.at.toISOString(), backendDN: state.backendDN, readonlyBefore: state.marker?.readonlyBefore ?? state.readonly },
  };
}

function markerAttributes(target: FreezeTarget) {
  return {
    objectClass: ['top', 'extensibleObject'],
    cn: `pki-db-upgrade freeze ${target.suffix}`,
    description: MARKER_PREFIX + JSON.stringify(target.marker),
  };
}

const readonly = (value: string): Modification[] => [{ operation: 'replace', attribute: 'nsslapd-readonly', values: [value] }];
const enabled = (on: boolean): Modification[] => [{ operation: 'replace', attribute: 'nsds5ReplicaEnabled', values: [on ? 'on' : 'off'] }];

/** Marker first, so that an interruption at any point can be undone from it. */
export async function applyFreeze(target: FreezeTarget): Promise<void> {
  const ldap = target.member.session!;
  if (!target.state.marker) await ldap.add(target.state.markerDN, markerAttributes(target));
  await ldap.modify(target.marker.backendDN, readonly('on'));
}

/**
 * Restores the server from its marker, pokes the agreements that feed it so that what waited
 * replicates now, then removes the marker. Returns false when it was not frozen. Reads first, so
 * it also undoes a freeze left by another (crashed) run, however far that run got.
 */
export async function thaw(member: ClusterMember, suffix: string, feeders: Feeder[]): Promise<boolean> {
  const ldap = member.session!;
  const state = await readFreezeState(ldap, suffix);
  if (!state.marker) return false;
  await ldap.modify(state.marker.backendDN, readonly(state.marker.readonlyBefore));
  await poke(feeders);
  await ldap.delete(state.markerDN);
  return true;
}

/** nsds5ReplicaEnabled off then on: the sender retries now instead of after its back-off. */
export async function poke(feeders: Feeder[]): Promise<void> {
  for (const { from, agreement } of feeders) {
    if (!from.session || !agreement.enabled) continue;
    await from.session.modify(agreement.dn, enabled(false));
    await from.session.modify(agreement.dn, enabled(true));
  }
}

/** The LDIF of a freeze and of its thaw, for the dry-run, with the server each record goes to. */
export function freezeLdif(target: FreezeTarget): { freeze: string; thaw: string } {
  const on = `# on ${target.member.id} (${target.member.url}):\n`;
  const freeze = on + ldifAdd(target.state.markerDN, markerAttributes(target)) + '\n' + ldifModify(target.marker.backendDN, readonly('on'));
  const pokes = target.feeders
    .filter((f) => f.agreement.enabled)
    .map((f) => `# poke, on ${f.from.id}:\n${ldifModify(f.agreement.dn, enabled(false))}\n${ldifModify(f.agreement.dn, enabled(true))}`);
  const thawText = [on + ldifModify(target.marker.backendDN, readonly(target.marker.readonlyBefore)), ...pokes, on + ldifDelete(target.state.markerDN)].join('\n');
  return { freeze, thaw: thawText };
}
