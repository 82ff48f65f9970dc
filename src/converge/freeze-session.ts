/**
 * The freeze of one `cluster upgrade` (freeze.ts has the primitives): the other suppliers made
 * read-only for the time of the cluster steps, every one of them thawed on every way out, and a
 * freeze left by a crashed run lifted by the next.
 */
import { readClaims, claimIsLive, type Liveness } from '../lock/cluster-claim';
import { ClusterNotReadyError, DirectoryError, errorMessage } from '../core/errors';
import type { ClusterContext } from './cluster-context';
import { applyFreeze, freezeLdif, planFreeze, readFreezeState, thaw, type FreezeTarget } from './freeze';
import { agreementsTo, suppliers, type Topology } from './topology';

/** What a freeze of this run says about itself on the frozen server: who, which run, since when. */
export function freezeMarker(ctx: ClusterContext, runId: string) {
  return { server: ctx.serverId, run: runId, at: ctx.clock.now() };
}

export class FreezeSession {
  private frozen: FreezeTarget[] = [];
  /** Servers this run froze and thawed again. */
  readonly thawed: string[] = [];

  constructor(
    private readonly ctx: ClusterContext,
    /** The run's id, asked for only when a freeze is planned. */
    private readonly runId: () => string,
  ) {}

  /** The suppliers a freeze applies to: every other one this run can write to. */
  static freezable(topology: Topology) {
    return suppliers(topology).filter((m) => !m.local && m.session && m.replica);
  }


  get active(): boolean {
    return this.frozen.length > 0;
  }

  /** Freezes every other supplier; `interrupted` stops it between two servers. */
  async freezeOthers(topology: Topology, interrupted: () => boolean): Promise<void> {
    const { ctx } = this;
    for (const member of FreezeSession.freezable(topology)) {
      if (interrupted()) throw new ClusterNotReadyError('the run was interrupted while freezing the other servers');
      const target = await planFreeze(member, freezeMarker(ctx, this.runId()), ctx.suffix, agreementsTo(topology, member));
      // Recorded before the writes: a freeze interrupted half-way must still be undone on the way out.
      this.frozen.push(target);
      await applyFreeze(target);
      ctx.logger.info(`${member.id}: frozen (${ctx.suffix} read-only there: client writes are refused until the upgrade is applied)`);
    }
  }

  /** Thaws every server this run froze; a failure is reported with the LDIF to apply by hand. Returns the failures. */
  async thawAll(): Promise<string[]> {
    const failures: string[] = [];
    for (const target of this.frozen.splice(0)) {
      try {
        await thaw(target.member, this.ctx.suffix, target.feeders);
        this.thawed.push(target.member.id);
        this.ctx.logger.info(`${target.member.id} accepts writes again`);
      } catch (err) {
        failures.push(`${target.member.id}: ${errorMessage(err)}\n${freezeLdif(target).thaw}`);
      }
    }
    if (failures.length > 0) {
      this.ctx.logger.error(
        `could not make these servers writable again (the next pki-db-upgrade cluster upgrade lifts it; or apply the LDIF with ldapmodify as Directory Manager):\n${failures.join('\n')}`,
      );
    }
    return failures;
  }

  /**
   * The thaw after the upgrade (read-only refuses replicated changes too, so before the wait for
   * delivery, also after a failure). A server left frozen fails an upgrade that succeeded.
   */
  async thawAfterUpgrade(upgradeSucceeded: boolean): Promise<void> {
    const stillFrozen = await this.thawAll();
    if (stillFrozen.length > 0 && upgradeSucceeded) {
      throw new DirectoryError(
        `the upgrade is applied on ${this.ctx.serverId}, but ${stillFrozen.length} server(s) could not be made writable again (see above)`,
        'run pki-db-upgrade cluster upgrade again: it lifts a freeze left behind; or apply the LDIF above with ldapmodify',
      );
    }
  }

  /** A freeze whose run no longer holds a live claim was left by a crash: undo it. */
  async liftLeftovers(topology: Topology, liveness: Liveness): Promise<void> {
    const { ctx } = this;
    const live = new Set((await readClaims(ctx.local, ctx.suffix)).filter((c) => claimIsLive(c, liveness)).map((c) => c.run));
    for (const member of topology.members) {
      if (!member.session || !member.replica) continue;
      const { marker } = await readFreezeState(member.session, ctx.suffix);
      if (!marker) continue;
      if (live.has(marker.run)) {
        ctx.logger.warn(`${member.id} is frozen by the running upgrade of ${marker.by} (run ${marker.run})`);
        continue;
      }
      await thaw(member, ctx.suffix, agreementsTo(topology, member));
      ctx.logger.warn(`${member.id} was left frozen by run ${marker.run} of ${marker.by} (${marker.at}), which is gone: it accepts writes again`);
    }
  }
}
