import { type Entity, type EntityDef, staticSchema } from './entity.js';
import type { Fields } from './fields.js';
import { foreign, id, parseHostPort, tags } from './typedefs.js';

const DEFAULT_PORT = 8000;
/** Targets keep float seconds with millisecond precision. */
const floatTimestamp = () => Math.round(Date.now()) / 1000;

const fields: Fields = {
  id,
  created_at: { type: 'number', auto: floatTimestamp },
  updated_at: { type: 'number', auto: floatTimestamp },
  upstream: foreign('upstreams', true),
  target: {
    type: 'string',
    required: true,
    check: (v: string) =>
      parseHostPort(v) ? undefined : `Invalid target ('${v}'); not a valid hostname or ip address`,
  },
  weight: { type: 'integer', default: 100, between: [0, 65535] },
  tags,
};

function expandIpv6(address: string): string {
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array(missing).fill('0'), ...right]
    .map((group) => group.padStart(4, '0').toLowerCase())
    .join(':');
}

/** Kong's stored form of a target: `host:port`, default port 8000, IPv4 without leading zeros, IPv6 expanded. */
export function normalizeTarget(value: string): string {
  const parsed = parseHostPort(value);
  if (!parsed) return value;
  const targetPort = parsed.port ?? DEFAULT_PORT;
  if (parsed.kind === 'ipv6') return `[${expandIpv6(parsed.host)}]:${targetPort}`;
  if (parsed.kind === 'ipv4') return `${parsed.host.split('.').map(Number).join('.')}:${targetPort}`;
  return `${parsed.host}:${targetPort}`;
}

export const targets: EntityDef = {
  name: 'targets',
  nestedName: 'targets',
  uniqueFields: [],
  cacheKey: ['upstream', 'target'],
  foreignKeys: [{ field: 'upstream', reference: 'upstreams', onDelete: 'cascade' }],
  timestamps: { updated: true, float: true },
  schemaFor: staticSchema(fields),
  normalize: (entity: Entity) => ({ ...entity, target: normalizeTarget(entity.target as string) }),
};
