import { type CollectionName, collectionNames, type EntityDef, entityDefs } from './schemas/index.js';

/**
 * Maps an Admin API path to what it addresses (kong/api/endpoints.lua generates the same shapes for every DAO) and
 * the verbs Kong allows there, so an unknown path answers 404 and a wrong verb 405.
 */

/** A parent in a nested path (`/services/{s}/routes`): the child's foreign key field and the parent's key. */
export interface ParentScope {
  def: EntityDef;
  key: string;
  /** The path prefix as given (`/services/my-svc`), for `next` links. */
  prefix: string;
  /** The child's foreign key field pointing at the parent. */
  field: string;
}

export type Route =
  | { kind: 'root' | 'status' | 'tags' | 'enabled-plugins' }
  | { kind: 'tag'; tag: string }
  | { kind: 'empty-list'; name: string }
  | { kind: 'collection'; def: EntityDef; parent?: ParentScope }
  | { kind: 'entity'; def: EntityDef; key: string; parent?: ParentScope }
  | { kind: 'foreign-entity'; def: EntityDef; key: string; field: string; reference: EntityDef }
  | { kind: 'targets-all' | 'upstream-health'; upstream: string }
  | { kind: 'target-health'; upstream: string; target: string };

export interface ResolvedRoute {
  route: Route;
  methods: string[];
}

const LIST = ['GET', 'POST'];
const ENTITY = ['GET', 'PUT', 'PATCH', 'DELETE'];

/** Collections decK 1.4 dumps that the double keeps empty (certificates, snis, other credentials). */
const EMPTY_COLLECTIONS = new Set(['certificates', 'snis', 'key-auths', 'basic-auths', 'hmac-auths', 'oauth2', 'acls']);

const byAdminName = new Map<string, EntityDef>(
  collectionNames.flatMap((name) => {
    const def = entityDefs[name];
    return def.adminName ? [[def.adminName, def] as [string, EntityDef]] : [];
  }),
);

/** `/P/{p}/<nestedName>` → child def and its foreign key field, per parent collection. */
const nested = new Map<CollectionName, Map<string, { def: EntityDef; field: string }>>();
for (const name of collectionNames) {
  const def = entityDefs[name];
  for (const fk of def.foreignKeys) {
    const children = nested.get(fk.reference) ?? new Map();
    children.set(def.nestedName, { def, field: fk.field });
    nested.set(fk.reference, children);
  }
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function resolveRoute(path: string): ResolvedRoute | undefined {
  const raw = path.split('/').filter((segment) => segment !== '');
  const segments = raw.map(decode);
  if (segments.some((segment) => segment === undefined)) return undefined;
  const [first, second, third, fourth] = segments as string[];
  const count = segments.length;
  if (count === 0) return { route: { kind: 'root' }, methods: ['GET'] };
  if (first === 'status' && count === 1) return { route: { kind: 'status' }, methods: ['GET'] };
  if (first === 'tags') {
    if (count === 1) return { route: { kind: 'tags' }, methods: ['GET'] };
    if (count === 2) return { route: { kind: 'tag', tag: second as string }, methods: ['GET'] };
    return undefined;
  }
  if (first === 'plugins' && second === 'enabled' && count === 2)
    return { route: { kind: 'enabled-plugins' }, methods: ['GET'] };
  if (EMPTY_COLLECTIONS.has(first as string) && count === 1)
    return { route: { kind: 'empty-list', name: first as string }, methods: ['GET'] };
  if (first === 'upstreams' && third === 'health' && count === 3)
    return { route: { kind: 'upstream-health', upstream: second as string }, methods: ['GET'] };
  if (first === 'upstreams' && third === 'targets' && fourth === 'all' && count === 4)
    return { route: { kind: 'targets-all', upstream: second as string }, methods: ['GET'] };
  // `/upstreams/{u}/targets/{t}/healthy` or, with an address, `/upstreams/{u}/targets/{t}/{address}/healthy`.
  if (first === 'upstreams' && third === 'targets' && (count === 5 || count === 6)) {
    const last = segments[count - 1];
    if (last === 'healthy' || last === 'unhealthy')
      return {
        route: { kind: 'target-health', upstream: second as string, target: fourth as string },
        methods: ['PUT'],
      };
    return undefined;
  }

  const def = byAdminName.get(first as string);
  if (!def) return undefined;
  if (count === 1) return { route: { kind: 'collection', def }, methods: LIST };
  if (count === 2) return { route: { kind: 'entity', def, key: second as string }, methods: ENTITY };
  const prefix = `/${raw[0]}/${raw[1]}`;
  if (count === 3) {
    const fk = def.foreignKeys.find((candidate) => candidate.field === third);
    if (fk)
      return {
        route: {
          kind: 'foreign-entity',
          def,
          key: second as string,
          field: fk.field,
          reference: entityDefs[fk.reference],
        },
        methods: ENTITY,
      };
  }
  const child = nested.get(def.name)?.get(third as string);
  if (!child || count > 4) return undefined;
  const parent: ParentScope = { def, key: second as string, prefix, field: child.field };
  if (count === 3) return { route: { kind: 'collection', def: child.def, parent }, methods: LIST };
  return { route: { kind: 'entity', def: child.def, key: fourth as string, parent }, methods: ENTITY };
}
