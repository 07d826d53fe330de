import { createPublicKey, randomInt } from 'node:crypto';
import { type EntityDef, staticSchema } from './entity.js';
import { conditional, type Fields, messages } from './fields.js';
import { foreign, id, tags, timestamp } from './typedefs.js';

export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
] as const;

/** Algorithms whose credential must hold a parsable public key (ES* is not enforced in Kong 3.9.3). */
const KEY_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'];

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** kong.tools.rand.random_string: 32 alphanumeric characters. */
const randomString = () => Array.from({ length: 32 }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join('');

function parsesAsPublicKey(pem: unknown): boolean {
  try {
    createPublicKey(pem as string);
    return true;
  } catch {
    return false;
  }
}

const fields: Fields = {
  id,
  created_at: timestamp,
  consumer: foreign('consumers', true),
  key: { type: 'string', auto: randomString },
  secret: { type: 'string', auto: randomString },
  rsa_public_key: { type: 'string' },
  algorithm: { type: 'string', default: 'HS256', one_of: JWT_ALGORITHMS },
  tags,
};

const checks = [
  conditional(
    'algorithm',
    (value) => KEY_ALGORITHMS.includes(value as string),
    'rsa_public_key',
    (value) => (value === null ? messages.required : parsesAsPublicKey(value) ? undefined : 'invalid key'),
  ),
];

export const jwtSecrets: EntityDef = {
  name: 'jwt_secrets',
  adminName: 'jwts',
  nestedName: 'jwt',
  endpointKey: 'key',
  uniqueFields: ['key'],
  foreignKeys: [{ field: 'consumer', reference: 'consumers', onDelete: 'cascade' }],
  timestamps: { updated: false, float: false },
  schemaFor: staticSchema(fields, checks),
};
