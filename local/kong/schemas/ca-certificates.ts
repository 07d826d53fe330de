import { createHash, X509Certificate } from 'node:crypto';
import { type Entity, type EntityDef, staticSchema } from './entity.js';
import type { Fields } from './fields.js';
import { id, tags, timestamp } from './typedefs.js';

/** kong/db/schema/typedefs.lua `certificate`: one PEM certificate that parses. */
function checkCertificate(value: string): string | undefined {
  try {
    new X509Certificate(value);
    return undefined;
  } catch {
    return 'invalid certificate: x509.new: error:068000A8:asn1 encoding routines::wrong tag';
  }
}

const fields: Fields = {
  id,
  created_at: timestamp,
  updated_at: timestamp,
  cert: { type: 'string', required: true, check: checkCertificate as (value: never) => string | undefined },
  // Kong computes the digest from the certificate on every write (kong/db/dao/ca_certificates.lua); a given one is
  // overwritten.
  cert_digest: { type: 'string' },
  tags,
};

/** kong/db/schema/entities/ca_certificates.lua: CA certificates that services list in `ca_certificates`. */
export const caCertificates: EntityDef = {
  name: 'ca_certificates',
  adminName: 'ca_certificates',
  nestedName: 'ca_certificates',
  uniqueFields: ['cert_digest'],
  foreignKeys: [],
  timestamps: { updated: true, float: false },
  schemaFor: staticSchema(fields),
  normalize(entity: Entity): Entity {
    const der = new X509Certificate(String(entity.cert)).raw;
    return { ...entity, cert_digest: createHash('sha256').update(der).digest('hex') };
  },
};
