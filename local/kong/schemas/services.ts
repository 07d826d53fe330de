import { type EntityDef, staticSchema } from './entity.js';
import { conditional, type EntityCheck, type Fields, mustBeNull } from './fields.js';
import { foreign, host, id, PROTOCOLS, path, port, tags, timeout, timestamp, utf8Name } from './typedefs.js';

const fields: Fields = {
  id,
  created_at: timestamp,
  updated_at: timestamp,
  name: { ...utf8Name },
  retries: { type: 'integer', default: 5, between: [0, 32767] },
  protocol: { type: 'string', required: true, default: 'http', one_of: PROTOCOLS },
  host: { ...host, required: true },
  port: { ...port, required: true, default: 80 },
  path,
  connect_timeout: { ...timeout, default: 60000 },
  write_timeout: { ...timeout, default: 60000 },
  read_timeout: { ...timeout, default: 60000 },
  tags,
  client_certificate: foreign('certificates'),
  tls_verify: { type: 'boolean' },
  tls_verify_depth: { type: 'integer', between: [0, 64] },
  ca_certificates: { type: 'array', elements: { type: 'string' } },
  enabled: { type: 'boolean', required: true, default: true },
};

const isOneOf = (values: string[]) => (value: unknown) => values.includes(value as string);
const TLS_ONLY = ['client_certificate', 'tls_verify', 'tls_verify_depth', 'ca_certificates'];

const checks: EntityCheck[] = [
  conditional('protocol', isOneOf(['tcp', 'tls', 'tls_passthrough', 'udp', 'grpc', 'grpcs']), 'path', mustBeNull),
  ...TLS_ONLY.map((field) =>
    conditional('protocol', (value) => !['https', 'tls'].includes(value as string), field, mustBeNull),
  ),
];

/** `url` shorthand: sets protocol, host, port (80/443 by scheme) and path. */
function expandShorthands(input: Record<string, unknown>): Record<string, unknown> {
  if (typeof input.url !== 'string') return input;
  const { url, ...rest } = input;
  try {
    const parsed = new URL(url);
    const protocol = parsed.protocol.slice(0, -1);
    const hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    return {
      ...rest,
      protocol,
      host: hostname,
      port: parsed.port ? Number(parsed.port) : protocol === 'https' || protocol === 'grpcs' ? 443 : 80,
      path: parsed.pathname && !(parsed.pathname === '/' && !/^\w+:\/\/[^/]+\//.test(url)) ? parsed.pathname : null,
    };
  } catch {
    return { ...rest, host: url };
  }
}

export const services: EntityDef = {
  name: 'services',
  adminName: 'services',
  nestedName: 'services',
  endpointKey: 'name',
  uniqueFields: ['name'],
  foreignKeys: [],
  timestamps: { updated: true, float: false },
  schemaFor: staticSchema(fields, checks),
  expandShorthands,
};
