import { defineStep } from '../../src/core/step';

// Certificate profiles stored in LDAP (Dogtag 10.3): the certProfile object class
// (fixtures/dogtag/server/schema-certProfile.ldif).
export default defineStep({
  description: 'Add the LDAP certificate profile schema (certProfile object class)',
  scope: 'cluster',
  async upgrade(ctx) {
    const changes = await ctx.schema.ensure({
      attributeTypes: [
        "( classId-oid NAME 'classId' DESC 'Certificate profile class ID' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 X-ORIGIN 'user defined' )",
        "( certProfileConfig-oid NAME 'certProfileConfig' DESC 'Certificate profile configuration' SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 X-ORIGIN 'user defined' )",
      ],
      objectClasses: [
        "( certProfile-oid NAME 'certProfile' DESC 'Certificate profile' SUP top STRUCTURAL MUST cn MAY ( classId $ certProfileConfig ) X-ORIGIN 'user defined' )",
      ],
    });
    ctx.logger.info(changes.length ? `schema: ${changes.map((c) => `${c.action} ${c.name}`).join(', ')}` : 'certProfile schema already present');
  },
});
