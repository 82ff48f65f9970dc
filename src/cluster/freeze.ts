/**
 * The seed's "disable write access on replicas", in a form that still lets replication in.
 *
 * `nsslapd-readonly: on` blocks replicated changes too (the sender backs off for up to 300 s), and
 * an ACI cannot stop a Dogtag server that binds as cn=Directory Manager (the default in CS.cfg:
 * the root DN bypasses access control). Instead the suffix's mapping tree node on each other
 * supplier is switched to `nsslapd-state: referral on update`, the mechanism 389 DS uses for its
 * own read-only consumers: every client write (Directory Manager included) is answered with a
 * referral (10) to the upgrading server, reads are served as usual, and replicated changes are
 * applied. It lives in cn=config, so it does not replicate and touches no data.
 *
 * The previous state and referrals are saved in a marker value of the node's description
 * ("pki-db-upgrade freeze: {...}"), so the thaw restores them exactly and the next run can find and
 * lift a freeze a crashed run left behind.
 */
import type { LdapSession, Modification } from '../core/directory';
import { ldifModify } from '../ldap/ldif';
import type { ClusterMember } from './topology';

const MARKER_PREFIX = 'pki-db-upgrade freeze: ';
export const FROZEN_STATE = 'referral on update';

export interface FreezeMarker {
  /** The upgrading server (history id). */
  by: string;
  run: string;
  at: string;
  /** nsslapd-state and nsslapd-referral before the freeze. */
  state: string;
  referrals: string[];
}

export interface NodeState {
  dn: string;
  state: string;
  referrals: string[];
  marker?: FreezeMarker;
  /** The marker as stored, to delete exactly that value. */
  markerValue?: string;
}

export async function readNode(ldap: LdapSession, mappingTreeDN: string): Promise<NodeState> {
  const entry = await ldap.read(mappingTreeDN, ['nsslapd-state', 'nsslapd-referral', 'description']);
  if (!entry) throw new Error(`${mappingTreeDN} does not exist`);
  const markerValue = entry.values('description').find((v) => v.startsWith(MARKER_PREFIX));
  let marker: FreezeMarker | undefined;
  if (markerValue) {
    try {
      marker = JSON.parse(markerValue.slice(MARKER_PREFIX.length)) as FreezeMarker;
    } catch {
      marker = undefined;
    }
  }
  return {
    dn: mappingTreeDN,
    state: entry.first('nsslapd-state') ?? 'backend',
    referrals: entry.values('nsslapd-referral'),
    marker,
    markerValue,
  };
}

/** The referral frozen servers give: the upgrading server, where writes may go meanwhile. */
export function referralUrl(serverUrl: string, suffix: string): string {
  return `${serverUrl.replace(/\/$/, '')}/${encodeURIComponent(suffix)}`;
}

export function freezeChanges(node: NodeState, marker: FreezeMarker, referral: string): Modification[] {
  return [
    { operation: 'replace', attribute: 'nsslapd-state', values: [FROZEN_STATE] },
    { operation: 'replace', attribute: 'nsslapd-referral', values: [referral] },
    { operation: 'add', attribute: 'description', values: [MARKER_PREFIX + JSON.stringify(marker)] },
  ];
}

/** Undoes freezeChanges from the saved marker; one modify, so it is all or nothing. */
export function thawChanges(node: NodeState): Modification[] {
  const marker = node.marker!;
  return [
    { operation: 'replace', attribute: 'nsslapd-state', values: [marker.state] },
    { operation: 'replace', attribute: 'nsslapd-referral', values: marker.referrals },
    { operation: 'delete', attribute: 'description', values: [node.markerValue!] },
  ];
}

export interface FreezeTarget {
  member: ClusterMember;
  node: NodeState;
  marker: FreezeMarker;
  referral: string;
}

/** What freezing `member` would do (read-only: for the plan and the dry-run). */
export async function planFreeze(member: ClusterMember, by: { server: string; run: string; url: string; at: Date }, suffix: string): Promise<FreezeTarget> {
  const node = await readNode(member.session!, member.replica!.mappingTreeDN);
  const previous = node.marker ? { state: node.marker.state, referrals: node.marker.referrals } : { state: node.state, referrals: node.referrals };
  return {
    member,
    node,
    marker: { by: by.server, run: by.run, at: by.at.toISOString(), ...previous },
    referral: referralUrl(by.url, suffix),
  };
}

export async function applyFreeze(target: FreezeTarget): Promise<void> {
  await target.member.session!.modify(target.node.dn, freezeChanges(target.node, target.marker, target.referral));
}

/**
 * Restores the node from its marker. Returns false when there was no marker (nothing to undo).
 * Reads first, so it also undoes a freeze written by another (crashed) run.
 */
export async function thaw(session: LdapSession, mappingTreeDN: string): Promise<boolean> {
  const node = await readNode(session, mappingTreeDN);
  if (!node.marker || !node.markerValue) return false;
  await session.modify(node.dn, thawChanges(node));
  return true;
}

/** The LDIF of a freeze and of its thaw, for the dry-run. */
export function freezeLdif(target: FreezeTarget): { freeze: string; thaw: string } {
  const frozen: NodeState = { ...target.node, marker: target.marker, markerValue: MARKER_PREFIX + JSON.stringify(target.marker) };
  return {
    freeze: ldifModify(target.node.dn, freezeChanges(target.node, target.marker, target.referral)),
    thaw: ldifModify(target.node.dn, thawChanges(frozen)),
  };
}
