import type { ErrorTree } from '../errors.js';
import { type EntityDef, staticSchema } from './entity.js';
import { conditional, type EntityCheck, type Field, type Fields, messages, requiredValue } from './fields.js';
import { foreign, headerName, hostWithOptionalPort, id, parseHostPort, path, tags, timestamp } from './typedefs.js';

const HASH_ON = ['none', 'consumer', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture'];
const HEALTHCHECK_TYPES = ['tcp', 'http', 'https', 'grpc', 'grpcs'];

const seconds: Field = { type: 'number', between: [0, 65535] };
const counter: Field = { type: 'integer', between: [0, 255] };
const statuses = (defaults: number[]): Field => ({
  type: 'array',
  default: defaults,
  elements: { type: 'integer', between: [100, 999] },
});
const record = (fields: Fields): Field => ({ type: 'record', required: true, fields });

const healthchecks: Field = record({
  active: record({
    type: { type: 'string', default: 'http', one_of: HEALTHCHECK_TYPES },
    timeout: { ...seconds, default: 1 },
    concurrency: { type: 'integer', default: 10, between: [1, 2 ** 31] },
    http_path: { ...path, default: '/' },
    https_sni: { type: 'string' },
    https_verify_certificate: { type: 'boolean', required: true, default: true },
    headers: { type: 'map', keys: headerName, values: { type: 'array', elements: { type: 'string' } } },
    healthy: record({
      interval: { ...seconds, default: 0 },
      http_statuses: statuses([200, 302]),
      successes: { ...counter, default: 0 },
    }),
    unhealthy: record({
      interval: { ...seconds, default: 0 },
      http_statuses: statuses([429, 404, 500, 501, 502, 503, 504, 505]),
      tcp_failures: { ...counter, default: 0 },
      timeouts: { ...counter, default: 0 },
      http_failures: { ...counter, default: 0 },
    }),
  }),
  passive: record({
    type: { type: 'string', default: 'http', one_of: HEALTHCHECK_TYPES },
    healthy: record({
      http_statuses: statuses([
        200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
      ]),
      successes: { ...counter, default: 0 },
    }),
    unhealthy: record({
      http_statuses: statuses([429, 500, 503]),
      tcp_failures: { ...counter, default: 0 },
      timeouts: { ...counter, default: 0 },
      http_failures: { ...counter, default: 0 },
    }),
  }),
  threshold: { type: 'number', default: 0, between: [0, 100] },
});

function checkUpstreamName(value: string): string | undefined {
  const parsed = parseHostPort(value);
  if (!parsed) return `Invalid name ('${value}'); must be a valid hostname`;
  if (parsed.kind !== 'name') return `Invalid name ('${value}'); no ip addresses allowed`;
  if (parsed.port !== undefined) return `Invalid name ('${value}'); no port allowed`;
  return undefined;
}

const fields: Fields = {
  id,
  created_at: timestamp,
  updated_at: timestamp,
  name: { type: 'string', required: true, check: checkUpstreamName },
  algorithm: {
    type: 'string',
    default: 'round-robin',
    one_of: ['consistent-hashing', 'least-connections', 'round-robin', 'latency'],
  },
  hash_on: { type: 'string', default: 'none', one_of: HASH_ON },
  hash_fallback: { type: 'string', default: 'none', one_of: HASH_ON },
  hash_on_header: headerName,
  hash_fallback_header: headerName,
  hash_on_cookie: { type: 'string' },
  hash_on_cookie_path: { ...path, default: '/' },
  hash_on_query_arg: { type: 'string' },
  hash_fallback_query_arg: { type: 'string' },
  hash_on_uri_capture: { type: 'string' },
  hash_fallback_uri_capture: { type: 'string' },
  slots: { type: 'integer', default: 10000, between: [10, 2 ** 16] },
  healthchecks,
  tags,
  host_header: hostWithOptionalPort,
  client_certificate: foreign('certificates'),
  use_srv_name: { type: 'boolean', default: false },
};

const equals = (value: string) => (candidate: unknown) => candidate === value;
const HASH_INPUTS: [string, string, string][] = [
  ['hash_on', 'header', 'hash_on_header'],
  ['hash_fallback', 'header', 'hash_fallback_header'],
  ['hash_on', 'cookie', 'hash_on_cookie'],
  ['hash_fallback', 'cookie', 'hash_on_cookie'],
  ['hash_on', 'query_arg', 'hash_on_query_arg'],
  ['hash_fallback', 'query_arg', 'hash_fallback_query_arg'],
  ['hash_on', 'uri_capture', 'hash_on_uri_capture'],
  ['hash_fallback', 'uri_capture', 'hash_fallback_uri_capture'],
];

const distinct = (a: string, b: string): EntityCheck => ({
  fields: [a, b],
  run: (upstream): ErrorTree | undefined =>
    upstream[a] !== null && upstream[a] === upstream[b] ? { '@entity': [messages.distinct([a, b])] } : undefined,
});

const checks: EntityCheck[] = [
  conditional(
    'hash_on',
    (value) => value === 'none' || value === 'cookie',
    'hash_fallback',
    (value) => (value === 'none' ? undefined : messages.oneOf(['none'])),
  ),
  ...HASH_INPUTS.map(([field, value, input]) => conditional(field, equals(value), input, requiredValue)),
  distinct('hash_on_header', 'hash_fallback_header'),
  distinct('hash_on_query_arg', 'hash_fallback_query_arg'),
  distinct('hash_on_uri_capture', 'hash_fallback_uri_capture'),
];

/** Hashing on anything but `none` implies consistent hashing when no algorithm is given. */
function expandShorthands(input: Record<string, unknown>): Record<string, unknown> {
  if (input.algorithm === undefined && typeof input.hash_on === 'string' && input.hash_on !== 'none')
    return { ...input, algorithm: 'consistent-hashing' };
  return input;
}

export const upstreams: EntityDef = {
  name: 'upstreams',
  adminName: 'upstreams',
  nestedName: 'upstreams',
  endpointKey: 'name',
  uniqueFields: ['name'],
  foreignKeys: [],
  timestamps: { updated: true, float: false },
  schemaFor: staticSchema(fields, checks),
  expandShorthands,
};
