/**
 * Proof that this run may still write replicated data: asked before each step and before each
 * batch of a bulk pass. The cluster claim provides it (src/lock/cluster-claim.ts); a run that lost its claim
 * must stop writing, since another server may be applying the same steps by now.
 */
export interface Fence {
  /** Resolves while the run may write; throws ClaimLostError once it may not. */
  verify(): Promise<void>;
}
