import { type KongHttpError, kongErrors } from './errors.js';
import type { ParentScope, Route } from './router.js';
import { type Field, type Fields, isPlainObject, isUuid, validateField, validateRecord } from './schemas/fields.js';
import { type CollectionName, collectionNames, type Entity, type EntityDef, entityDefs } from './schemas/index.js';
import { bundledPlugins } from './schemas/plugins/bundled.js';
import { normalizeTarget } from './schemas/targets.js';
import { type Collection, cacheKeyOf, type KongStore, mergeAscending } from './store.js';

/**
 * The Admin API semantics of Kong 3.9 over the indexed store (kong/api/endpoints.lua, kong/db/dao/init.lua):
 * list/create/read/upsert/update/delete, nested collections, foreign-key resolution, uniqueness, paging and tags.
 */

export const KONG_VERSION = '3.9.3';
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const MAX_TAGS = 5;

export interface ApiRequest {
  method: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** Body came as a form: values are coerced to the schema's types. */
  form: boolean;
}

export interface Reply {
  status: number;
  body?: unknown;
}

/** One entity written by a request: before/after states (undefined when absent). */
export interface EntityWrite {
  entity: CollectionName;
  id: string;
  before?: Entity;
  after?: Entity;
}

export interface NodeInfo {
  nodeId: string;
  hostname: string;
  /** Requests served so far, for `/status`. */
  totalRequests: () => number;
}

const ok = (body: unknown, status = 200): Reply => ({ status, body });
const noContent: Reply = { status: 204 };

const fkId = (value: unknown): string | undefined =>
  isPlainObject(value) && typeof value.id === 'string' ? value.id : undefined;

function encodeOffset(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64').replace(/=+$/, '');
}

function decodeOffset(offset: string): unknown[] {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(offset) || offset.replace(/=+$/, '').length % 4 === 1)
    throw kongErrors.invalidOffset(offset, 'bad base64 encoding');
  try {
    const values = JSON.parse(Buffer.from(offset, 'base64').toString('utf8'));
    if (Array.isArray(values) && values.length > 0) return values;
  } catch {
    // reported below
  }
  throw kongErrors.invalidOffset(offset, 'bad json encoding');
}

function parseSize(query: URLSearchParams): number {
  const raw = query.get('size');
  if (raw === null) return DEFAULT_PAGE_SIZE;
  const size = raw.trim() === '' ? Number.NaN : Number(raw);
  if (Number.isNaN(size)) throw kongErrors.invalidSize('size must be a number');
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE)
    throw kongErrors.invalidSize(`size must be an integer between 1 and ${MAX_PAGE_SIZE}`);
  return size;
}

const TAG_FILTER = /^[\x20-\x7e\u0080-\u{10ffff}]+$/u;

/** `tags=a,b` (AND) or `tags=a/b` (OR), at most five (kong/api/endpoints.lua extract_options). */
export function parseTagFilter(raw: string | null): { tags: string[]; any: boolean } | undefined {
  if (raw === null) return undefined;
  if (raw === '') throw kongErrors.invalidOptions({ tags: 'cannot be null' });
  const invalid = () => kongErrors.invalidOptions({ tags: 'invalid filter syntax' });
  if (!TAG_FILTER.test(raw)) throw invalid();
  const any = raw.includes('/');
  if (any && raw.includes(',')) throw invalid();
  const tags = raw.split(any ? '/' : ',');
  if (tags.some((tag) => tag === '')) throw invalid();
  if (tags.length > MAX_TAGS) throw kongErrors.invalidOptions({ tags: `cannot query more than ${MAX_TAGS} tags` });
  return { tags, any };
}

/** PATCH: given top-level fields replace, records merge deeply (Kong's read-before-write update). */
function mergePatch(fields: Fields | undefined, base: Record<string, unknown>, patch: Record<string, unknown>) {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const field: Field | undefined = fields?.[key];
    const current = base[key];
    merged[key] =
      field?.type === 'record' && isPlainObject(current) && isPlainObject(value)
        ? mergePatch(field.fields, current, value)
        : value;
  }
  return merged;
}

export class AdminApi {
  constructor(
    private readonly store: KongStore,
    private readonly node: NodeInfo,
    private readonly onWrite: (write: EntityWrite) => void,
  ) {}

  /** Empties this API's store (a workspace's entities). */
  clear(): void {
    this.store.clear();
  }

  handle(route: Route, request: ApiRequest): Reply {
    const { method } = request;
    switch (route.kind) {
      case 'root':
        return ok(this.root());
      case 'status':
        return ok(this.status());
      case 'enabled-plugins':
        return ok({ enabled_plugins: [...bundledPlugins.keys()] });
      case 'empty-list':
        parseSize(request.query);
        return ok({ data: [], next: null });
      case 'tags':
      case 'tag':
        return ok(this.listTags(route.kind === 'tag' ? route.tag : undefined, request.query));
      case 'upstream-health':
        return ok(this.upstreamHealth(route.upstream));
      case 'targets-all': {
        const upstream = this.findOrNotFound(entityDefs.upstreams, route.upstream);
        const scope = {
          def: entityDefs.upstreams,
          key: route.upstream,
          prefix: `/upstreams/${route.upstream}`,
          field: 'upstream',
        };
        const ids = this.collection(entityDefs.targets).childIds('upstream', upstream.id);
        return ok(
          this.pageById(
            entityDefs.targets,
            request.query,
            `${scope.prefix}/targets/all`,
            false,
            (after) => ids?.from(after) ?? [],
          ),
        );
      }
      case 'target-health': {
        const upstream = this.findOrNotFound(entityDefs.upstreams, route.upstream);
        if (!this.findTarget(upstream.id, route.target)) throw kongErrors.notFound();
        return noContent;
      }
      case 'collection':
        return method === 'GET'
          ? ok(this.list(route.def, request.query, route.parent))
          : this.create(route.def, request, route.parent);
      case 'entity':
        return this.entity(route.def, route.key, request, route.parent);
      case 'foreign-entity':
        return this.foreignEntity(route, request);
    }
  }

  // ---- reads ----

  private collection(def: EntityDef): Collection {
    return this.store.collection(def.name);
  }

  /** Looks an entity up by id, or by its endpoint key (code 10 when that value is not even valid). */
  find(def: EntityDef, key: string, parent?: { id: string; field: string }): Entity | undefined {
    if (def.name === 'targets' && parent && !isUuid(key)) return this.findTarget(parent.id, key);
    const collection = this.collection(def);
    if (isUuid(key)) return collection.get(key);
    if (!def.endpointKey) return undefined;
    const field = def.schemaFor({}).fields[def.endpointKey];
    const error = field ? validateField(field, key).error : undefined;
    if (typeof error === 'string') throw kongErrors.invalidUnique(def.endpointKey, error);
    const id = collection.idByUnique(def.endpointKey, key);
    return id === undefined ? undefined : collection.get(id);
  }

  private findTarget(upstreamId: string, key: string): Entity | undefined {
    const targets = this.collection(entityDefs.targets);
    if (isUuid(key)) {
      const target = targets.get(key);
      return target && fkId(target.upstream) === upstreamId ? target : undefined;
    }
    const normalized = normalizeTarget(key);
    for (const id of targets.childIds('upstream', upstreamId)?.from() ?? []) {
      const target = targets.get(id);
      if (target?.target === normalized) return target;
    }
    return undefined;
  }

  private findOrNotFound(def: EntityDef, key: string): Entity {
    const entity = this.find(def, key);
    if (!entity) throw kongErrors.notFound();
    return entity;
  }

  private resolveParent(scope: ParentScope | undefined): Entity | undefined {
    return scope ? this.findOrNotFound(scope.def, scope.key) : undefined;
  }

  private list(def: EntityDef, query: URLSearchParams, scope?: ParentScope) {
    const parent = this.resolveParent(scope);
    const collection = this.collection(def);
    if (parent && scope) {
      if (def.name === 'targets') return this.listTargets(parent, scope, query);
      const ids = collection.childIds(scope.field, parent.id);
      return this.pageById(def, query, `${scope.prefix}/${def.nestedName}`, false, (after) => ids?.from(after) ?? []);
    }
    if (def.name === 'consumers' && query.has('custom_id')) {
      const customId = query.get('custom_id') ?? '';
      if (customId === '') throw kongErrors.message(400, 'custom_id must be an unempty string');
      const id = collection.idByUnique('custom_id', customId);
      const consumer = id === undefined ? undefined : collection.get(id);
      return { data: consumer ? [consumer] : [], next: null };
    }
    const filter = parseTagFilter(query.get('tags'));
    const base = `/${def.adminName}`;
    if (!filter) return this.pageById(def, query, base, true, (after) => collection.order.from(after));
    const indexes = filter.tags.map((tag) => collection.taggedWith(tag));
    if (filter.any) {
      const present = indexes.filter((index) => index !== undefined);
      return this.pageById(def, query, base, true, (after) =>
        mergeAscending(present.map((index) => index.from(after))),
      );
    }
    if (indexes.some((index) => index === undefined)) return this.pageById(def, query, base, true, () => []);
    // AND: walk the smallest tag index and keep the entities carrying every other tag.
    const smallest = indexes.reduce((a, b) => ((a?.size ?? 0) <= (b?.size ?? 0) ? a : b));
    const others = indexes.filter((index) => index !== smallest);
    return this.pageById(def, query, base, true, (after) =>
      filterIds(smallest?.from(after) ?? [], (id) => others.every((index) => index?.has(id))),
    );
  }

  /** One page of entities in id order, with Kong's base64 `offset` token and `next` link. */
  private pageById(
    def: EntityDef,
    query: URLSearchParams,
    base: string,
    topLevel: boolean,
    idsAfter: (after: string | undefined) => Iterable<string>,
  ) {
    const size = parseSize(query);
    const offset = query.get('offset');
    const after = offset === null || offset === '' ? undefined : String(decodeOffset(offset)[0]);
    const collection = this.collection(def);
    const data: Entity[] = [];
    let more = false;
    for (const id of idsAfter(after)) {
      const entity = collection.get(id);
      if (!entity) continue;
      if (data.length === size) {
        more = true;
        break;
      }
      data.push(entity);
    }
    if (!more) return { data, next: null };
    const token = encodeOffset([(data[data.length - 1] as Entity).id]);
    let next = `${base}?offset=${encodeURIComponent(token)}`;
    if (topLevel) {
      const tags = query.get('tags');
      if (tags !== null) next += `&tags=${encodeURIComponent(tags)}`;
      if (query.has('size')) next += `&size=${size}`;
    }
    return { data, offset: token, next };
  }

  /** Targets of an upstream newest first, paged with a numeric offset (kong/db/dao/targets.lua). */
  private listTargets(upstream: Entity, scope: ParentScope, query: URLSearchParams) {
    const size = parseSize(query);
    const raw = query.get('offset');
    const start = raw === null || raw === '' ? 0 : Number(raw);
    if (!Number.isInteger(start) || start < 0) throw kongErrors.invalidOffset(String(raw), 'bad offset');
    const targets = this.collection(entityDefs.targets);
    const ids = targets.newestFirst('upstream', upstream.id);
    const data = ids.slice(start, start + size).map((id) => targets.get(id) as Entity);
    if (start + size >= ids.length) return { data, next: null };
    const token = String(start + size);
    return { data, offset: token, next: `${scope.prefix}/targets?offset=${token}` };
  }

  private listTags(tag: string | undefined, query: URLSearchParams) {
    const size = parseSize(query);
    const offset = query.get('offset');
    const [afterId, afterTag] = offset ? (decodeOffset(offset) as [string, string?]) : [undefined, undefined];
    const collections = collectionNames.map((name) => this.store.collection(name));
    const streams = collections.map(
      (collection) =>
        (tag === undefined ? collection.tagged : collection.taggedWith(tag))?.from(afterId, true) ??
        [][Symbol.iterator](),
    );
    const data: { entity_name: string; entity_id: string; tag: string }[] = [];
    let more = false;
    outer: for (const id of mergeAscending(streams.map((stream) => stream[Symbol.iterator]()))) {
      const owner = collections.find((collection) => collection.get(id));
      const entity = owner?.get(id);
      if (!owner || !entity) continue;
      const entityTags = tag === undefined ? [...((entity.tags as string[]) ?? [])].sort() : [tag];
      for (const entityTag of entityTags) {
        if (id === afterId && afterTag !== undefined && entityTag <= afterTag) continue;
        if (data.length === size) {
          more = true;
          break outer;
        }
        data.push({ entity_name: owner.def.name, entity_id: id, tag: entityTag });
      }
    }
    if (!more) return { data, next: null };
    const last = data[data.length - 1] as { entity_id: string; tag: string };
    const token = encodeOffset([last.entity_id, last.tag]);
    const base = tag === undefined ? '/tags' : `/tags/${encodeURIComponent(tag)}`;
    return { data, offset: token, next: `${base}?offset=${encodeURIComponent(token)}` };
  }

  private upstreamHealth(key: string) {
    const upstream = this.findOrNotFound(entityDefs.upstreams, key);
    const targets = this.collection(entityDefs.targets);
    const data = targets.newestFirst('upstream', upstream.id).map((id) => {
      const target = targets.get(id) as Entity;
      const [address = '', port = ''] = String(target.target).split(/:(?=\d+$)/);
      return {
        ...target,
        health: 'HEALTHCHECKS_OFF',
        data: { addresses: [{ ip: address, port: Number(port), weight: target.weight, health: 'HEALTHCHECKS_OFF' }] },
      };
    });
    return { data, next: null, node_id: this.node.nodeId };
  }

  private root() {
    const availableOnServer = Object.fromEntries(
      [...bundledPlugins.values()].map((plugin) => [plugin.name, { version: KONG_VERSION, priority: plugin.priority }]),
    );
    const enabled = new Set<string>();
    for (const plugin of this.collection(entityDefs.plugins).rows.values()) enabled.add(plugin.name as string);
    return {
      tagline: 'Welcome to kong',
      version: KONG_VERSION,
      edition: 'community',
      hostname: this.node.hostname,
      node_id: this.node.nodeId,
      timers: { running: 0, pending: 0 },
      plugins: { available_on_server: availableOnServer, enabled_in_cluster: [...enabled].sort() },
      lua_version: 'LuaJIT 2.1.0-20231117',
      configuration: {
        database: 'postgres',
        role: 'traditional',
        router_flavor: 'traditional_compatible',
        admin_listen: ['127.0.0.1:8001'],
        proxy_listeners: [],
        loaded_plugins: Object.fromEntries([...bundledPlugins.keys()].map((name) => [name, true])),
      },
      pids: { master: process.pid, workers: [process.pid] },
    };
  }

  private status() {
    const total = this.node.totalRequests();
    return {
      database: { reachable: true },
      memory: {
        lua_shared_dicts: { kong: { capacity: '5.00 MiB', allocated_slabs: '0.04 MiB' } },
        workers_lua_vms: [
          { http_allocated_gc: `${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(2)} MiB`, pid: process.pid },
        ],
      },
      server: {
        connections_accepted: total,
        connections_active: 1,
        connections_handled: total,
        connections_reading: 0,
        connections_waiting: 0,
        connections_writing: 1,
        total_requests: total,
      },
    };
  }

  // ---- writes ----

  private entity(def: EntityDef, key: string, request: ApiRequest, scope?: ParentScope): Reply {
    const parent = this.resolveParent(scope);
    const parentRef = parent && scope ? { id: parent.id, field: scope.field } : undefined;
    const found = this.find(def, key, parentRef);
    const existing = found && parentRef && fkId(found[parentRef.field]) !== parentRef.id ? undefined : found;
    const misplaced = found !== undefined && existing === undefined;
    switch (request.method) {
      case 'GET':
        if (!existing) throw kongErrors.notFound();
        return ok(existing);
      case 'DELETE':
        if (misplaced || (def.name === 'targets' && !existing)) throw kongErrors.notFound();
        if (existing) this.delete(def, existing);
        return noContent;
      case 'PATCH':
        if (!existing) throw scope || misplaced ? kongErrors.notFound() : notFoundBy(def, key);
        return ok(this.update(def, existing, request));
      case 'PUT':
        if (misplaced) throw kongErrors.notFound();
        if (def.name === 'targets') {
          if (!existing) throw kongErrors.notFound();
          return ok(this.update(def, existing, request));
        }
        return ok(this.upsert(def, key, existing, request, parentRef));
      default:
        throw kongErrors.methodNotAllowed();
    }
  }

  private foreignEntity(route: Extract<Route, { kind: 'foreign-entity' }>, request: ApiRequest): Reply {
    const child = this.findOrNotFound(route.def, route.key);
    const parentId = fkId(child[route.field]);
    const parent = parentId ? this.collection(route.reference).get(parentId) : undefined;
    if (!parent) throw kongErrors.notFound();
    switch (request.method) {
      case 'GET':
        return ok(parent);
      case 'PATCH':
        return ok(this.update(route.reference, parent, request));
      case 'PUT':
        return ok(this.upsert(route.reference, parent.id, parent, request));
      default:
        throw kongErrors.methodNotAllowed();
    }
  }

  private create(def: EntityDef, request: ApiRequest, scope?: ParentScope): Reply {
    const parent = this.resolveParent(scope);
    const input = { ...request.body };
    if (parent && scope) input[scope.field] = { id: parent.id };
    const entity = this.prepare(def, input, request.form);
    if (this.collection(def).get(entity.id)) throw kongErrors.primaryKeyViolation({ id: entity.id });
    this.checkReferences(def, entity);
    this.save(def, entity);
    return ok(entity, 201);
  }

  /** PUT: the body is a complete entity; the key in the URL wins (id, or the endpoint key). */
  private upsert(
    def: EntityDef,
    key: string,
    existing: Entity | undefined,
    request: ApiRequest,
    parent?: { id: string; field: string },
  ): Entity {
    const input: Record<string, unknown> = { ...request.body };
    if (isUuid(key)) input.id = key;
    else if (def.endpointKey) {
      input[def.endpointKey] = key;
      if (existing) input.id = existing.id;
    }
    if (parent) input[parent.field] = { id: parent.id };
    const entity = this.prepare(def, input, request.form);
    this.checkReferences(def, entity);
    this.save(def, entity, existing);
    return entity;
  }

  private update(def: EntityDef, existing: Entity, request: ApiRequest): Entity {
    const patch = def.expandShorthands ? def.expandShorthands({ ...request.body }) : { ...request.body };
    const resolved = this.resolveForeignKeys(def, patch);
    const merged = mergePatch(def.schemaFor({ ...existing, ...resolved }).fields, existing, resolved);
    merged.id = existing.id;
    const entity = this.prepare(def, merged, request.form);
    this.checkReferences(def, entity);
    this.save(def, entity, existing);
    return entity;
  }

  private delete(def: EntityDef, entity: Entity): void {
    const restricting = this.store.restrictedBy(def.name, entity.id);
    if (restricting) throw kongErrors.foreignKeyRestricted(def.name, restricting);
    this.store.delete(def.name, entity.id);
    this.onWrite({ entity: def.name, id: entity.id, before: entity });
  }

  private save(def: EntityDef, entity: Entity, before?: Entity): void {
    this.collection(def).put(entity);
    this.onWrite({ entity: def.name, id: entity.id, before, after: entity });
  }

  /** Shorthands, foreign keys given by name, defaults, validation and canonical form; throws Kong's errors. */
  private prepare(def: EntityDef, raw: Record<string, unknown>, form: boolean): Entity {
    const expanded = def.expandShorthands ? def.expandShorthands(raw) : raw;
    const input = this.resolveForeignKeys(def, expanded);
    const schema = def.schemaFor(input);
    if (schema.error) throw kongErrors.schemaViolation(schema.error);
    const { value, errors } = validateRecord(schema.fields, input, schema.checks, { form, foreignFields });
    if (errors) throw kongErrors.schemaViolation(errors);
    let entity = value as Entity;
    if (def.normalize) entity = def.normalize(entity);
    const now = Date.now() / 1000;
    const stamp = def.timestamps.float ? Math.round(now * 1000) / 1000 : Math.floor(now);
    if (expanded.created_at === undefined) entity.created_at = stamp;
    if (def.timestamps.updated) entity.updated_at = stamp;
    return entity;
  }

  /**
   * A foreign key without a valid id is resolved by the referenced entity's unique fields, in schema order
   * (`{"service":{"name":"x"}}` → `{"service":{"id":…}}`), as kong/db/dao/init.lua's resolve_foreign does: the
   * first match wins, other fields are ignored, and any unique value that matched nothing is reported (code 13).
   */
  private resolveForeignKeys(def: EntityDef, input: Record<string, unknown>): Record<string, unknown> {
    let output = input;
    const unresolved: Record<string, Record<string, { value: unknown; parent: string }>> = {};
    for (const fk of def.foreignKeys) {
      const value = input[fk.field];
      if (!isPlainObject(value) || isUuid(value.id)) continue;
      const reference = entityDefs[fk.reference];
      const referenceFields = reference.schemaFor({}).fields;
      const tried: Record<string, { value: unknown; parent: string }> = {};
      for (const keyField of Object.keys(referenceFields)) {
        if (!reference.uniqueFields.includes(keyField) && reference.endpointKey !== keyField) continue;
        const keyValue = value[keyField];
        if (keyValue === undefined || keyValue === null) continue;
        if (validateField(referenceFields[keyField] as Field, keyValue).error !== undefined) continue;
        const id = this.collection(reference).idByUnique(keyField, keyValue);
        if (id !== undefined) {
          output = { ...output, [fk.field]: { id } };
          break;
        }
        tried[keyField] = { value: keyValue, parent: reference.name };
      }
      if (Object.keys(tried).length) unresolved[fk.field] = tried;
    }
    if (Object.keys(unresolved).length) throw kongErrors.foreignKeyUnresolved(unresolved);
    return output;
  }

  /** A plugin must share a protocol with its route, or with at least one route of its service (dao/plugins.lua). */
  private checkPluginProtocols(plugin: Entity): void {
    const protocols = plugin.protocols as string[];
    const shares = (route: Entity | undefined) =>
      (route?.protocols as string[] | undefined)?.some((protocol) => protocols.includes(protocol)) ?? true;
    const routes = this.store.collection('routes');
    const routeId = fkId(plugin.route);
    if (routeId !== undefined) {
      if (!shares(routes.get(routeId)))
        throw kongErrors.schemaViolation({ protocols: "must match the associated route's protocols" });
      return;
    }
    const serviceId = fkId(plugin.service);
    const serviceRoutes = serviceId === undefined ? undefined : routes.childIds('service', serviceId);
    if (!serviceRoutes || serviceRoutes.size === 0) return;
    for (const id of serviceRoutes.from()) if (shares(routes.get(id))) return;
    throw kongErrors.schemaViolation({
      protocols: "must match the protocols of at least one route pointing to this Plugin's service",
    });
  }

  /** Foreign keys must exist (code 4); unique fields and cache keys must be free (409 code 5). */
  private checkReferences(def: EntityDef, entity: Entity): void {
    const fields = def.schemaFor(entity).fields;
    for (const [name, field] of Object.entries(fields)) {
      if (field.type !== 'foreign') continue;
      const id = fkId(entity[name]);
      if (id === undefined) continue;
      const reference = field.reference as string;
      const exists = (collectionNames as string[]).includes(reference)
        ? this.store.collection(reference as CollectionName).get(id) !== undefined
        : false;
      if (!exists) throw kongErrors.foreignKeyMissing(name, { id }, reference);
    }
    if (def.name === 'plugins') this.checkPluginProtocols(entity);
    const collection = this.collection(def);
    for (const field of def.uniqueFields) {
      const value = entity[field];
      if (value === null || value === undefined) continue;
      const other = collection.idByUnique(field, value);
      if (other !== undefined && other !== entity.id) throw kongErrors.uniqueViolation({ [field]: value });
    }
    if (def.cacheKey && cacheKeyOf(def, entity) !== undefined) {
      const other = collection.idByCacheKey(entity);
      if (other !== undefined && other !== entity.id)
        throw kongErrors.uniqueViolation(
          Object.fromEntries(def.cacheKey.map((field) => [field, entity[field] ?? null])),
        );
    }
  }
}

/** Fields of a referenced collection (schema order), for validating a foreign key given without a valid id. */
function foreignFields(reference: string): Fields | undefined {
  return (collectionNames as string[]).includes(reference)
    ? entityDefs[reference as CollectionName].schemaFor({}).fields
    : undefined;
}

function* filterIds(ids: Iterable<string>, keep: (id: string) => boolean): Generator<string> {
  for (const id of ids) if (keep(id)) yield id;
}

function notFoundBy(def: EntityDef, key: string): KongHttpError {
  if (isUuid(key) || !def.endpointKey) return kongErrors.notFoundByPrimaryKey({ id: key });
  return kongErrors.notFoundByField({ [def.endpointKey]: key });
}
