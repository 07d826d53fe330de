import {
  type AnyEntity,
  type EntityKind,
  type KongState,
  normalizeEntity,
  type Plugin,
  type Upstream,
} from '../kong/entities.js';

type DeckEntity = Record<string, unknown>;

/** Fields Kong 3.9 has and decK 1.4's file schema rejects; decK 1.4 neither writes nor compares them. */
const UNKNOWN_TO_DECK: Partial<Record<EntityKind, string[]>> = {
  service: ['enabled'],
  upstream: ['use_srv_name'],
};

export interface DeckFile {
  _format_version: '1.1';
  services: DeckEntity[];
  upstreams: DeckEntity[];
  consumers: DeckEntity[];
  plugins: DeckEntity[];
  ca_certificates?: DeckEntity[];
}

/**
 * Fields as decK writes them: everything Kong would return, so decK 1.4 (which compares with DeepEqual and knows
 * only a few defaults, reference §12.4) finds nothing to change after a sync. Timestamps go (Kong sets them),
 * foreign keys go where nesting expresses them, and top-level nulls go (decK reads an absent field as null).
 * Plugin `config` stays whole, nulls included: decK compares it as a map.
 */
function deckFields(kind: EntityKind, entity: AnyEntity, dropped: string[] = []): DeckEntity {
  const omit = new Set(['created_at', 'updated_at', ...(UNKNOWN_TO_DECK[kind] ?? []), ...dropped]);
  const fields: DeckEntity = {};
  for (const [field, value] of Object.entries(normalizeEntity(kind, entity))) {
    if (!omit.has(field) && value !== null && value !== undefined) fields[field] = value;
  }
  return fields;
}

const PLUGIN_SCOPES = ['route', 'service', 'consumer'] as const;

/**
 * The state as a decK 1.4 state file (`_format_version: "1.1"`): routes and plugins nested under their service,
 * targets under their upstream, jwt credentials under their consumer, ids kept, so `deck sync` of it writes exactly
 * this state and `deck diff` afterwards reports nothing. Plugins nest under their route, else service, else
 * consumer; any other scope they have is named by id. Pure.
 */
export function toDeckFile(state: KongState): DeckFile {
  const pluginsBy = groupPlugins(state.plugins);
  const nestedPlugins = (owner: 'route' | 'service' | 'consumer', id: string) =>
    (pluginsBy.get(`${owner}:${id}`) ?? []).map((plugin) => deckPlugin(plugin, owner));
  const withPlugins = (fields: DeckEntity, owner: 'route' | 'service' | 'consumer', id: string) => {
    const plugins = nestedPlugins(owner, id);
    return plugins.length > 0 ? { ...fields, plugins } : fields;
  };

  const routesByService = groupBy(state.routes, (route) => route.service?.id ?? '');
  const targetsByUpstream = groupBy(state.targets, (target) => target.upstream.id);
  const jwtsByConsumer = groupBy(state.jwts, (credential) => credential.consumer.id);

  const services = state.services.map((service) => ({
    ...withPlugins(deckFields('service', service), 'service', service.id),
    routes: (routesByService.get(service.id) ?? []).map((route) =>
      withPlugins(deckFields('route', route, ['service']), 'route', route.id),
    ),
  }));
  // Kong 3 allows routes without a service; decK 1.4 has no top-level routes in its files, so such routes are
  // left out rather than bound to a wrong service. meshgate never writes them.
  const upstreams = state.upstreams.map((upstream) => ({
    ...deckFields('upstream', upstream),
    healthchecks: deckHealthchecks(upstream.healthchecks),
    targets: (targetsByUpstream.get(upstream.id) ?? []).map((target) => deckFields('target', target, ['upstream'])),
  }));
  const consumers = state.consumers.map((consumer) => ({
    ...withPlugins(deckFields('consumer', consumer), 'consumer', consumer.id),
    jwt_secrets: (jwtsByConsumer.get(consumer.id) ?? []).map((credential) =>
      deckFields('jwt', credential, ['consumer']),
    ),
  }));
  const plugins = (pluginsBy.get('global') ?? []).map((plugin) => deckPlugin(plugin));
  const caCertificates = state.ca_certificates.map((certificate) => deckFields('ca_certificate', certificate));
  return {
    _format_version: '1.1',
    services,
    upstreams,
    consumers,
    plugins,
    ...(caCertificates.length > 0 ? { ca_certificates: caCertificates } : {}),
  };
}

/** Plugins keyed by the entity they nest under: `route:<id>`, else `service:<id>`, else `consumer:<id>`, else `global`. */
function groupPlugins(plugins: Plugin[]): Map<string, Plugin[]> {
  return groupBy(plugins, (plugin) => {
    const owner = PLUGIN_SCOPES.find((scope) => plugin[scope]);
    return owner ? `${owner}:${plugin[owner]!.id}` : 'global';
  });
}

/** A plugin under `owner` (or at top level): the owner is implied by nesting, other scopes are named by id. */
function deckPlugin(plugin: Plugin, owner?: 'route' | 'service' | 'consumer'): DeckEntity {
  const fields = deckFields('plugin', plugin, [...PLUGIN_SCOPES]);
  fields.config = plugin.config;
  for (const scope of PLUGIN_SCOPES) {
    const reference = plugin[scope];
    if (scope !== owner && reference) fields[scope] = reference.id;
  }
  return fields;
}

/**
 * decK 1.4 types healthchecks strictly: no nulls (absent reads as Kong's null) and no `active.headers`, which
 * meshgate never sets.
 */
function deckHealthchecks(healthchecks: Upstream['healthchecks']): unknown {
  const { headers: _unsupported, ...active } = healthchecks.active;
  return withoutNulls({ ...healthchecks, active });
}

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== null)
      .map(([key, item]) => [key, withoutNulls(item)]),
  );
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
