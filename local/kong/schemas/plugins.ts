import type { EntityDef } from './entity.js';
import { type EntityCheck, type Fields, isPlainObject, mustBeNull } from './fields.js';
import { bundledPlugins } from './plugins/bundled.js';
import { foreign, HTTP_PROTOCOLS, id, PROTOCOLS, protocols, tags, timestamp, utf8Name } from './typedefs.js';

function fieldsFor(plugin: { httpOnly: boolean; noConsumer: boolean; config?: Fields[string] }): Fields {
  return {
    id,
    name: { type: 'string', required: true },
    instance_name: { ...utf8Name },
    created_at: timestamp,
    updated_at: timestamp,
    route: foreign('routes'),
    service: foreign('services'),
    consumer: plugin.noConsumer ? { ...foreign('consumers'), check: mustBeNull } : foreign('consumers'),
    config: plugin.config ?? { type: 'record', required: true, open: true, default: {} },
    protocols: protocols(plugin.httpOnly ? HTTP_PROTOCOLS : PROTOCOLS, HTTP_PROTOCOLS),
    enabled: { type: 'boolean', required: true, default: true },
    tags,
  };
}

const cache = new Map<string, Fields>();
const noChecks: EntityCheck[] = [];
/** Before the name is known (or when it is not a bundled plugin) only the common fields are checked. */
const genericFields = fieldsFor({ httpOnly: false, noConsumer: false });

export const plugins: EntityDef = {
  name: 'plugins',
  adminName: 'plugins',
  nestedName: 'plugins',
  endpointKey: 'instance_name',
  uniqueFields: ['instance_name'],
  cacheKey: ['name', 'route', 'service', 'consumer'],
  foreignKeys: [
    { field: 'route', reference: 'routes', onDelete: 'cascade' },
    { field: 'service', reference: 'services', onDelete: 'cascade' },
    { field: 'consumer', reference: 'consumers', onDelete: 'cascade' },
  ],
  timestamps: { updated: true, float: false },
  schemaFor(input) {
    const name = input.name;
    if (typeof name !== 'string') return { fields: genericFields, checks: noChecks };
    const plugin = bundledPlugins.get(name);
    if (!plugin)
      return {
        fields: genericFields,
        checks: noChecks,
        error: { name: `plugin '${name}' not enabled; add it to the 'plugins' configuration property` },
      };
    const fields = cache.get(name) ?? fieldsFor(plugin);
    cache.set(name, fields);
    return { fields, checks: noChecks };
  },
  expandShorthands(input) {
    const plugin = typeof input.name === 'string' ? bundledPlugins.get(input.name) : undefined;
    if (!plugin?.expandConfig || !isPlainObject(input.config)) return input;
    return { ...input, config: plugin.expandConfig(input.config) };
  },
};
