import { createHash, randomUUID } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { type ErrorTree, KongHttpError, kongErrors, prettyLua } from './errors.js';
import { AdminApi, type EntityWrite, type NodeInfo } from './handlers.js';
import type { Route } from './router.js';
import { isPlainObject, isUuid } from './schemas/fields.js';
import { type CollectionName, type Entity, entityDefs } from './schemas/index.js';
import { KongStore } from './store.js';

/**
 * Kong 3.9 in DB-less mode (`database = off`, kong/api/routes/config.lua, kong/db/strategies/off, kong/db/errors.lua):
 * entity writes answer 405 code 12, the configuration is read with `GET /config` and replaced whole with
 * `POST /config` (optionally `flatten_errors`, `check_hash`), and `/status` carries the configuration hash.
 */

/** Load order: a row's foreign keys point at rows of earlier collections. */
const LOAD_ORDER: CollectionName[] = [
  // Services name their upstream TLS trust by CA certificate id (`ca_certificates`): loaded first.
  'ca_certificates',
  'consumers',
  'services',
  'upstreams',
  'routes',
  'targets',
  'jwt_secrets',
  'plugins',
];

/** Children that may be nested under a parent in a declarative file, with the child's foreign key field. */
const NESTED: Partial<Record<CollectionName, { child: CollectionName; field: string }[]>> = {
  services: [
    { child: 'routes', field: 'service' },
    { child: 'plugins', field: 'service' },
  ],
  routes: [{ child: 'plugins', field: 'route' }],
  consumers: [
    { child: 'plugins', field: 'consumer' },
    { child: 'jwt_secrets', field: 'consumer' },
  ],
  upstreams: [{ child: 'targets', field: 'upstream' }],
};

/** Declarative sections the double does not store; accepted only empty. */
const OTHER_SECTIONS = new Set([
  'certificates',
  'snis',
  'vaults',
  'keys',
  'key_sets',
  'keyauth_credentials',
  'basicauth_credentials',
  'hmacauth_credentials',
  'oauth2_credentials',
  'acls',
  'filter_chains',
]);
const FORMAT_VERSIONS = ['1.1', '2.1', '3.0'];
const EMPTY_HASH = '0'.repeat(32);
const TRUTHY = new Set(['1', 'true', 'on', 'yes']);

const VERB: Record<string, string> = { POST: 'create', PUT: 'create or update', PATCH: 'update', DELETE: 'remove' };

export const onlyWithoutDatabase = () =>
  kongErrors.message(400, 'this endpoint is only available when Kong is configured to not use a database');

/** 405 code 12, as the off strategy answers every insert, update, upsert and delete. */
export function refuseEntityWrite(route: Route, method: string): void {
  if (!(method in VERB)) return;
  if (route.kind !== 'collection' && route.kind !== 'entity' && route.kind !== 'foreign-entity') return;
  const def = route.kind === 'foreign-entity' ? route.reference : route.def;
  const verb = VERB[method] as string;
  const byField =
    route.kind === 'entity' && method !== 'POST' && !isUuid(route.key) && def.endpointKey
      ? ` by '${def.name === 'targets' ? 'target' : def.endpointKey}'`
      : '';
  const message = `cannot ${verb} '${def.name}' entities${byField} when not using a database`;
  throw new KongHttpError(405, { code: 12, name: 'operation unsupported', message });
}

type Section = Record<string, unknown>[];
interface FlatError {
  entity_type: string;
  entity_name?: string;
  entity_id?: string;
  entity_tags?: string[];
  entity: Record<string, unknown>;
  errors: ({ type: 'field'; field: string; message: string } | { type: 'entity'; message: string })[];
}

export class DeclarativeNode {
  /** md5 of the configuration last loaded (Kong reports zeros before the first one). */
  hash = EMPTY_HASH;

  constructor(
    private readonly store: KongStore,
    private readonly node: NodeInfo,
    /** Every entity the new configuration adds, changes or drops (timestamps aside), for the write guard. */
    private readonly onWrite: (write: EntityWrite) => void = () => {},
  ) {}

  /** `GET /config`: the current configuration as a declarative YAML document, foreign keys as ids. */
  exportConfig(): { config: string } {
    const document: Record<string, unknown> = { _format_version: '3.0', _transform: false };
    for (const name of LOAD_ORDER) {
      const rows = [...this.store.collection(name).rows.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
      if (rows.length === 0) continue;
      document[name] = rows.map((row) => flattenForeignKeys(name, row));
    }
    return { config: stringify(document) };
  }

  /** `POST /config`: validates the whole document against the schemas, then replaces every entity at once. */
  load(query: URLSearchParams, body: Record<string, unknown>, raw: string): { status: number; body?: unknown } {
    const flatten = TRUTHY.has(String(query.get('flatten_errors') ?? body.flatten_errors ?? '').toLowerCase());
    const checkHash = String(query.get('check_hash') ?? body.check_hash ?? '') === '1';
    const document = parseDocument(body, raw);
    const hash = createHash('md5').update(JSON.stringify(document)).digest('hex');
    if (checkHash && hash === this.hash) return { status: 304 };

    const topLevel: ErrorTree = {};
    const version = document._format_version;
    if (version === undefined) topLevel._format_version = 'required field missing';
    else if (!FORMAT_VERSIONS.includes(String(version)))
      topLevel._format_version = `expected one of: ${FORMAT_VERSIONS.join(', ')}`;
    for (const [key, value] of Object.entries(document)) {
      if (key.startsWith('_')) continue;
      if (OTHER_SECTIONS.has(key)) {
        if (Array.isArray(value) && value.length > 0) topLevel[key] = 'not supported by the Kong double';
        continue;
      }
      if (!LOAD_ORDER.includes(key as CollectionName)) topLevel[key] = 'unknown field';
      else if (!Array.isArray(value)) topLevel[key] = 'expected an array';
    }
    if (Object.keys(topLevel).length) throw invalid(topLevel, [], flatten);

    const sections = hoist(document);
    const scratch = new KongStore();
    const api = new AdminApi(scratch, this.node, () => {});
    const fields: ErrorTree = {};
    const flattened: FlatError[] = [];
    for (const name of LOAD_ORDER) {
      const def = entityDefs[name];
      (sections[name] ?? []).forEach((input, index) => {
        try {
          api.handle(
            { kind: 'collection', def },
            { method: 'POST', query: new URLSearchParams(), body: input, form: false },
          );
        } catch (error) {
          if (!(error instanceof KongHttpError)) throw error;
          const tree = entityErrors(error);
          const list = (fields[name] as (ErrorTree | null)[] | undefined) ?? [];
          list[index] = tree;
          fields[name] = list.map((item) => item ?? null) as ErrorTree[];
          flattened.push(flatError(name, input, tree));
        }
      });
    }
    if (flattened.length) throw invalid(fields, flattened, flatten);

    const writes: EntityWrite[] = [];
    for (const name of LOAD_ORDER) {
      const next = scratch.collection(name).rows;
      for (const [id, before] of this.store.collection(name).rows) {
        const after = next.get(id);
        if (!after || sameEntity(before, after) === false) writes.push({ entity: name, id, before, after });
      }
      for (const [id, after] of next)
        if (!this.store.collection(name).get(id)) writes.push({ entity: name, id, after });
    }
    this.store.clear();
    const loaded: Record<string, Record<string, Entity>> = {};
    for (const name of LOAD_ORDER) {
      const rows = scratch.collection(name).rows;
      for (const row of rows.values()) this.store.collection(name).put(row);
      if (rows.size) loaded[name] = Object.fromEntries(rows);
    }
    this.hash = hash;
    for (const write of writes) this.onWrite(write);
    return { status: 201, body: loaded };
  }
}

function sameEntity(a: Entity, b: Entity): boolean {
  const strip = ({ created_at: _c, updated_at: _u, ...rest }: Entity) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

function flattenForeignKeys(name: CollectionName, row: Entity): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  for (const fk of entityDefs[name].foreignKeys) {
    const value = row[fk.field];
    if (isPlainObject(value) && typeof value.id === 'string') out[fk.field] = value.id;
  }
  return out;
}

function parseDocument(body: Record<string, unknown>, raw: string): Record<string, unknown> {
  let document: unknown = body;
  try {
    if (typeof body.config === 'string') document = parse(body.config);
    else if (Object.keys(body).length === 0 && raw.trim() !== '') document = parse(raw);
  } catch {
    throw invalid({ error: 'failed parsing declarative configuration: expected an object' }, [], false);
  }
  if (isPlainObject(document) && Object.keys(document).length === 0 && raw.trim() === '')
    throw kongErrors.message(400, 'expected a declarative configuration');
  if (!isPlainObject(document))
    throw invalid({ error: 'failed parsing declarative configuration: expected an object' }, [], false);
  const { config: _config, flatten_errors: _flatten, check_hash: _check, ...rest } = document;
  return typeof body.config === 'string' ? document : rest;
}

/**
 * Nested children hoisted to their own section with the parent's id; top-level foreign keys given as a string
 * (an id, or the parent's endpoint key such as a service name or a username) become `{id}` or `{<key>: value}`.
 */
function hoist(document: Record<string, unknown>): Partial<Record<CollectionName, Section>> {
  const sections: Partial<Record<CollectionName, Section>> = {};
  const add = (name: CollectionName, entity: Record<string, unknown>) => {
    const { ws_id: _ws, ...clean } = entity;
    sections[name] ??= [];
    sections[name].push(clean);
  };
  const visit = (name: CollectionName, input: unknown, parent?: { field: string; id: string }) => {
    if (!isPlainObject(input)) {
      add(name, { '@invalid': input });
      return;
    }
    const entity: Record<string, unknown> = { ...input };
    for (const key of Object.keys(entity)) if (key.startsWith('_')) delete entity[key];
    const nested = NESTED[name] ?? [];
    if (nested.some(({ child }) => Array.isArray(entity[child])) && !isUuid(entity.id)) entity.id = randomUUID();
    const children = nested.map(({ child, field }) => ({ child, field, items: entity[child] }));
    for (const { child } of nested) delete entity[child];
    for (const fk of entityDefs[name].foreignKeys) {
      const value = entity[fk.field];
      if (typeof value !== 'string') continue;
      const reference = entityDefs[fk.reference];
      entity[fk.field] = isUuid(value) ? { id: value } : { [reference.endpointKey ?? 'id']: value };
    }
    if (parent) entity[parent.field] = { id: parent.id };
    add(name, entity);
    for (const { child, field, items } of children)
      if (Array.isArray(items)) for (const item of items) visit(child, item, { field, id: entity.id as string });
  };
  for (const name of LOAD_ORDER) {
    const section = document[name];
    if (Array.isArray(section)) for (const item of section) visit(name, item);
  }
  return sections;
}

/** A refused entity's errors as a field tree (schema violations) or `@entity` messages (references, uniqueness). */
function entityErrors(error: KongHttpError): ErrorTree {
  const body = error.body ?? {};
  if (body.code === 2 && isPlainObject(body.fields)) return body.fields as ErrorTree;
  return { '@entity': [String(body.message ?? error.message)] };
}

function flatError(name: CollectionName, entity: Record<string, unknown>, tree: ErrorTree): FlatError {
  const errors: FlatError['errors'] = [];
  const walk = (prefix: string, node: unknown) => {
    if (typeof node === 'string') errors.push({ type: 'field', field: prefix, message: node });
    else if (Array.isArray(node))
      node.forEach((item, index) => {
        if (item !== null) walk(prefix ? `${prefix}.${index}` : String(index), item);
      });
    else if (isPlainObject(node))
      for (const [key, value] of Object.entries(node)) {
        if (key === '@entity' && Array.isArray(value))
          for (const message of value) errors.push({ type: 'entity', message: String(message) });
        else walk(prefix ? `${prefix}.${key}` : key, value);
      }
  };
  walk('', tree);
  const out: FlatError = { entity_type: name.endsWith('s') ? name.slice(0, -1) : name, entity, errors };
  if (typeof entity.name === 'string') out.entity_name = entity.name;
  if (isUuid(entity.id)) out.entity_id = entity.id;
  if (Array.isArray(entity.tags) && entity.tags.every((tag) => typeof tag === 'string'))
    out.entity_tags = entity.tags as string[];
  return out;
}

/** 400 code 14; with `flatten_errors` the per-entity errors move to `flattened_errors` (kong/db/errors.lua). */
function invalid(fields: ErrorTree, flattened: FlatError[], flatten: boolean): KongHttpError {
  const remaining = flatten && flattened.length ? {} : fields;
  const body: Record<string, unknown> = {
    code: 14,
    name: 'invalid declarative configuration',
    message: `declarative config is invalid: ${prettyLua(remaining, '')}`,
    fields: remaining,
  };
  if (flatten) body.flattened_errors = flattened;
  return new KongHttpError(400, body);
}
