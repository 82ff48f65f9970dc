/**
 * The indexes a Dogtag CA defines on its backend: ca/index.ldif of the Dogtag release this package
 * matches (fixtures/dogtag, commit 40cf4713). test/unit/ca-indexes.test.ts checks this list against
 * that file, so that the two cannot drift apart.
 */
import type { IndexSpec } from '../core/step';

export const CA_INDEXES: readonly IndexSpec[] = [
  { attribute: 'revokedby', types: ['eq'] },
  { attribute: 'issuedby', types: ['eq'] },
  { attribute: 'publicKeyData', types: ['eq'] },
  { attribute: 'clientId', types: ['eq'] },
  { attribute: 'dataType', types: ['eq'] },
  { attribute: 'status', types: ['eq'] },
  { attribute: 'description', types: ['eq', 'pres'] },
  { attribute: 'serialno', types: ['eq', 'pres'] },
  { attribute: 'metaInfo', types: ['eq', 'pres'] },
  { attribute: 'certstatus', types: ['eq', 'pres'] },
  { attribute: 'requestid', types: ['eq', 'pres'] },
  { attribute: 'requesttype', types: ['eq', 'pres'] },
  { attribute: 'requeststate', types: ['eq', 'pres'] },
  { attribute: 'requestowner', types: ['eq', 'pres'] },
  { attribute: 'notbefore', types: ['eq', 'pres'] },
  { attribute: 'notafter', types: ['eq', 'pres'] },
  { attribute: 'duration', types: ['eq', 'pres'] },
  { attribute: 'dateOfCreate', types: ['eq', 'pres'] },
  { attribute: 'revokedOn', types: ['eq', 'pres'] },
  { attribute: 'archivedBy', types: ['eq', 'pres'] },
  { attribute: 'ownername', types: ['eq', 'pres', 'sub'] },
  { attribute: 'issuername', types: ['eq', 'pres', 'sub'] },
  { attribute: 'subjectname', types: ['eq', 'pres', 'sub'] },
  { attribute: 'requestsourceid', types: ['eq', 'pres', 'sub'] },
  { attribute: 'revInfo', types: ['eq', 'pres', 'sub'] },
  { attribute: 'extension', types: ['eq', 'pres', 'sub'] },
  { attribute: 'acmeExpires', types: ['eq'] },
  { attribute: 'acmeAccountId', types: ['eq'] },
  { attribute: 'acmeStatus', types: ['eq'] },
  { attribute: 'acmeAuthorizationId', types: ['eq'] },
  { attribute: 'acmeIdentifier', types: ['eq'] },
  { attribute: 'acmeCertificateId', types: ['eq'] },
  { attribute: 'acmeAuthorizationWildcard', types: ['pres', 'eq'] },
];
