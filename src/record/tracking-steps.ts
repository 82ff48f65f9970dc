/**
 * The history store's own steps: they install the schema of its records, as a migrator creates
 * its own table. They are steps (recorded, run first, under the cluster claim) rather than a quiet
 * set-up because cn=schema replicates by 389 DS's rules: the records' schema must reach every
 * server the way any schema step's does (written everywhere, read back, held back without the
 * claim: docs/schema-replication.md), and the history then says which sets a database has.
 *
 * Their ids are the ones earlier releases recorded (10.0.0/01-TrackingSchema was a shipped step up
 * to 11.6.0), so those records stay valid. A set, once released, never changes; a new need is a
 * new set and a new step here, after the others.
 */
import { createHash } from 'node:crypto';
import type { RegisteredStep, StepContext } from '../core/step';
import { parseDefinition } from '../apply/schema-definition';
import { TRACKING_AUDIT_SCHEMA, TRACKING_SCHEMA } from '../ldap/tracking-schema';

type SchemaSet = { attributeTypes: string[]; objectClasses: string[] };

/**
 * What the step does is its set of definitions: the checksum is of those, not of a file. Each
 * step carries it as released (a set never changes), checked against this by
 * test/unit/tracking-steps.test.ts: computing it at every start would load node:crypto, ~4 ms of
 * a run with nothing to do.
 */
export function checksumOf(set: SchemaSet): string {
  return createHash('sha256')
    .update(['pki-db-upgrade bookkeeping step 1', ...set.attributeTypes, ...set.objectClasses].join('\n'))
    .digest('hex');
}

function trackingStep(
  index: number,
  name: string,
  description: string,
  set: SchemaSet,
  checksum: string,
  formerChecksums?: string[],
): RegisteredStep {
  return {
    id: `10.0.0/${String(index).padStart(2, '0')}-${name}`,
    version: '10.0.0',
    index,
    name,
    description,
    scope: 'cluster',
    bookkeeping: true,
    checksum,
    formerChecksums,
    async upgrade(ctx: StepContext) {
      const changes = await ctx.schema.ensure(set);
      ctx.logger.info(changes.length ? `schema: ${changes.map((c) => `${c.action} ${c.name}`).join(', ')}` : 'already in cn=schema');
    },
  };
}

/** Each set with the step that installs it, for the check that it is still in force (setInForce). */
export const TRACKING_SETS: { stepId: string; set: SchemaSet }[] = [
  { stepId: '10.0.0/01-TrackingSchema', set: TRACKING_SCHEMA },
  { stepId: '10.0.0/02-TrackingAudit', set: TRACKING_AUDIT_SCHEMA },
];

/** The names of the object classes of `set`, as definitionsOn (apply/schema-helper.ts) looks them up. */
export function classNamesOf(set: SchemaSet): string[] {
  return set.objectClasses.map((text) => parseDefinition(text).names[0]);
}

/**
 * Whether a server's object classes (by lower-case name, as definitionsOn reads them) hold `set`:
 * each of its classes, allowing at least what the set's definition allows. (Its attribute types
 * need no look: 389 DS refuses a class that names an attribute type it does not know.)
 */
export function setInForce(set: SchemaSet, objectClasses: Map<string, string>): boolean {
  return set.objectClasses.every((text) => {
    const wanted = parseDefinition(text);
    const stored = objectClasses.get(wanted.names[0].toLowerCase());
    if (!stored) return false;
    const present = parseDefinition(stored);
    const allowed = new Set([...(present.fields.get('MUST') ?? []), ...(present.fields.get('MAY') ?? [])].map((a) => a.toLowerCase()));
    return [...(wanted.fields.get('MUST') ?? []), ...(wanted.fields.get('MAY') ?? [])].every((a) => allowed.has(a.toLowerCase()));
  });
}

export const TRACKING_STEPS: RegisteredStep[] = [
  trackingStep(1, 'TrackingSchema', 'Install the schema of the upgrade tracking entries (pkiDbUpgrade*)', TRACKING_SCHEMA, '4079c965231187a81b9a25aa25d1666380afb2a79420ef53c6d5b51a2a2afe6d', [
    // As a shipped step: 11.6.0, whose checksum covered its file only; then with its import.
    '531f91ef495c5cb9b0befbc84cd9d19fb67e016f8280e2740aaea83e213e9d03',
    '2642b3306219eed578ba86dc3a14700aecd63c8c985cefde70c53131dee2e092',
  ]),
  trackingStep(
    2,
    'TrackingAudit',
    'Extend the tracking schema: backward compatibility of each step, and the audit of mark-done and forget',
    TRACKING_AUDIT_SCHEMA,
    '66f691a260cd64246f930fe6499eecb1b7a8abf9ab496f50c8c7e20c00bc8b32',
  ),
];

/** The step whose set the audit entries and the backward-compatibility flag need. */
export const AUDIT_STEP_ID = TRACKING_STEPS[1].id;
