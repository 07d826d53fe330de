import type { ErrorTree } from '../errors.js';
import { type EntityDef, staticSchema } from './entity.js';
import type { EntityCheck, Field, Fields } from './fields.js';
import { foreign, id, PROTOCOLS, parseHostPort, port, protocols, tags, timestamp, utf8Name } from './typedefs.js';

const ipPort: Field = {
  type: 'record',
  fields: { ip: { type: 'string' }, port: { ...port } },
};

const fields: Fields = {
  id,
  created_at: timestamp,
  updated_at: timestamp,
  name: { ...utf8Name },
  protocols: protocols(PROTOCOLS, ['http', 'https']),
  methods: {
    type: 'set',
    elements: { type: 'string', check: (v: string) => (/^[A-Z]+$/.test(v) ? undefined : `invalid value: ${v}`) },
  },
  hosts: { type: 'array', elements: { type: 'string', check: checkWildcardHost } },
  paths: { type: 'array', elements: { type: 'string', check: checkRouterPath } },
  headers: {
    type: 'map',
    keys: {
      type: 'string',
      check: (v: string) => (v.toLowerCase() === 'host' ? "cannot contain 'host' header" : undefined),
    },
    values: { type: 'array', elements: { type: 'string' } },
  },
  https_redirect_status_code: { type: 'integer', required: true, default: 426, one_of: [426, 301, 302, 307, 308] },
  regex_priority: { type: 'integer', default: 0 },
  strip_path: { type: 'boolean', required: true, default: true },
  path_handling: { type: 'string', default: 'v0', one_of: ['v0', 'v1'] },
  preserve_host: { type: 'boolean', required: true, default: false },
  request_buffering: { type: 'boolean', required: true, default: true },
  response_buffering: { type: 'boolean', required: true, default: true },
  snis: { type: 'set', elements: { type: 'string' } },
  sources: { type: 'set', elements: ipPort },
  destinations: { type: 'set', elements: ipPort },
  tags,
  service: foreign('services'),
};

function checkWildcardHost(value: string): string | undefined {
  const wildcards = (value.match(/\*/g) ?? []).length;
  if (wildcards > 1) return 'invalid wildcard: only one wildcard is allowed';
  if (wildcards === 1 && !value.startsWith('*.') && !value.endsWith('.*'))
    return 'invalid wildcard: must be placed at leftmost or rightmost label';
  const bare = value.replace(/^\*\./, 'x.').replace(/\.\*$/, '.x');
  return parseHostPort(bare) ? undefined : `invalid hostname: ${value}`;
}

function checkRouterPath(value: string): string | undefined {
  if (value.startsWith('~')) {
    try {
      new RegExp(value.slice(1));
      return undefined;
    } catch {
      return `invalid regex: '${value.slice(1)}'`;
    }
  }
  if (!value.startsWith('/')) return 'should start with: / (fixed path) or ~/ (regex path)';
  if (value.includes('//')) return 'must not have empty segments';
  return undefined;
}

const SUBSETS = [['http', 'https'], ['tcp', 'tls', 'udp'], ['tls_passthrough'], ['grpc', 'grpcs']];
const isSet = (value: unknown) => Array.isArray(value) && value.length > 0;
const quoted = (names: string[]) => names.map((n) => `'${n}'`).join(', ');

/** routes.lua + routes_subschemas.lua: protocol families must not mix; each family needs some matching field. */
const checks: EntityCheck[] = [
  {
    fields: ['protocols'],
    run: (route) => {
      const list = route.protocols as string[];
      const families = SUBSETS.filter((subset) => subset.some((p) => list.includes(p)));
      if (families.length > 1)
        return {
          '@entity': [`these sets are mutually exclusive: ${families.map((f) => `('${f.join("', '")}')`).join(', ')}`],
        };
      return undefined;
    },
  },
  {
    fields: ['protocols', 'methods', 'hosts', 'headers', 'paths', 'snis', 'sources', 'destinations', 'strip_path'],
    run: (route) => {
      const list = route.protocols as string[];
      const errors: ErrorTree = {};
      const need = (names: string[], label: string) => {
        if (
          !names.some(
            (n) =>
              isSet(route[n]) ||
              (n === 'headers' && route.headers !== null && Object.keys(route.headers as object).length > 0),
          )
        )
          errors['@entity'] = [`must set one of ${quoted(names)} when 'protocols' is ${label}`];
      };
      if (list.includes('grpc') || list.includes('grpcs')) {
        if (route.strip_path === true)
          errors.strip_path = "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'";
        if (isSet(route.methods)) errors.methods = "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'";
        need(
          list.includes('grpcs') ? ['hosts', 'headers', 'paths', 'snis'] : ['hosts', 'headers', 'paths'],
          list.includes('grpcs') ? "'grpcs'" : "'grpc'",
        );
      } else if (list.includes('https')) {
        need(['methods', 'hosts', 'headers', 'paths', 'snis'], "'https'");
      } else if (list.includes('http')) {
        need(['methods', 'hosts', 'headers', 'paths'], "'http'");
      } else if (list.includes('tls_passthrough')) {
        if (!isSet(route.snis)) errors['@entity'] = ["must set snis when 'protocols' is 'tls_passthrough'"];
      } else {
        need(['sources', 'destinations', 'snis'], "'tcp', 'tls' or 'udp'");
      }
      if (isSet(route.snis) && !list.some((p) => ['https', 'grpcs', 'tls', 'tls_passthrough'].includes(p)))
        errors.snis = "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'";
      return Object.keys(errors).length ? errors : undefined;
    },
  },
];

export const routes: EntityDef = {
  name: 'routes',
  adminName: 'routes',
  nestedName: 'routes',
  endpointKey: 'name',
  uniqueFields: ['name'],
  foreignKeys: [{ field: 'service', reference: 'services', onDelete: 'restrict' }],
  timestamps: { updated: true, float: false },
  schemaFor: staticSchema(fields, checks),
};
