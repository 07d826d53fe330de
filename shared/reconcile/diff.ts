import {
  type AnyEntity,
  type EntityByKind,
  type EntityKind,
  entityKinds,
  type KongState,
  normalizeEntity,
} from '../kong/entities.js';

export type ChangeAction = 'create' | 'update' | 'delete';

/** One field that differs between the current and the desired entity; nested records give dotted paths. */
export interface FieldDiff {
  field: string;
  before: unknown;
  after: unknown;
}

/**
 * One write the plan makes. `entity` is what gets written (desired for create/update) or removed (current, for
 * delete); `previous` is the current entity an update replaces.
 */
export interface Change {
  action: ChangeAction;
  kind: EntityKind;
  id: string;
  /** Human name for plans and reports, e.g. `orders`, `jwt for service orders`, `10.0.0.1:8080 on upstream orders`. */
  name: string;
  entity: AnyEntity;
  previous?: AnyEntity;
  fields?: FieldDiff[];
}

/** Fields that Kong assigns and that never make two entities different. */
const IGNORED_FIELDS = new Set(['id', 'created_at', 'updated_at']);
/** Kong `set` fields: order and duplicates carry no meaning, and an empty set equals none. */
const SET_FIELDS = new Set(['tags', 'protocols', 'methods', 'snis']);

export function stateKey(kind: EntityKind): keyof KongState {
  return `${kind}s` as keyof KongState;
}

export function entitiesOf<K extends EntityKind>(state: KongState, kind: K): EntityByKind[K][] {
  return state[stateKey(kind)] as EntityByKind[K][];
}

/**
 * What must change in `current` to make it `desired`. Entities match by id (meshgate's ids are deterministic and
 * snapshots keep theirs); both sides are normalized with Kong's defaults before comparing, so a dumped entity and
 * a freshly translated one compare equal when Kong would store the same thing. Pure.
 */
export function diff(current: KongState, desired: KongState): Change[] {
  const names = new HumanNames(current, desired);
  const changes: Change[] = [];
  for (const kind of entityKinds) {
    const currentById = new Map(entitiesOf(current, kind).map((entity) => [entity.id, entity]));
    const desiredIds = new Set<string>();
    for (const wanted of entitiesOf(desired, kind)) {
      desiredIds.add(wanted.id);
      const existing = currentById.get(wanted.id);
      if (!existing) {
        const entity = normalizeEntity(kind, wanted);
        changes.push({ action: 'create', kind, id: entity.id, name: names.of(kind, entity), entity });
        continue;
      }
      // Dumped and translated entities are normally both normalized already: compare them as they are, and only
      // fill defaults (a schema parse per side) when that finds a difference.
      if (sameEntity(existing, wanted)) continue;
      const entity = normalizeEntity(kind, wanted);
      const fields = fieldDiffs(comparable(normalizeEntity(kind, existing)), comparable(entity));
      if (fields.length > 0) {
        changes.push({
          action: 'update',
          kind,
          id: entity.id,
          name: names.of(kind, entity),
          entity,
          previous: existing,
          fields,
        });
      }
    }
    for (const existing of currentById.values()) {
      if (!desiredIds.has(existing.id)) {
        changes.push({ action: 'delete', kind, id: existing.id, name: names.of(kind, existing), entity: existing });
      }
    }
  }
  return changes;
}

/** The entity minus the fields Kong assigns, with sets in a canonical order. */
function comparable(entity: AnyEntity): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(entity)) {
    if (IGNORED_FIELDS.has(field)) continue;
    result[field] = SET_FIELDS.has(field) ? canonicalSet(value) : value;
  }
  return result;
}

/**
 * Whether `fieldDiffs(comparable(a), comparable(b))` would be empty, without building either: a no-op run compares
 * every entity, and the copies were most of its diff's time.
 */
function sameEntity(a: AnyEntity, b: AnyEntity): boolean {
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  for (const field of Object.keys(left)) if (!sameField(field, left[field], right[field])) return false;
  for (const field of Object.keys(right)) {
    if (!Object.hasOwn(left, field) && !sameField(field, undefined, right[field])) return false;
  }
  return true;
}

function sameField(field: string, left: unknown, right: unknown): boolean {
  if (IGNORED_FIELDS.has(field)) return true;
  if (!SET_FIELDS.has(field)) return deepEqual(left, right);
  // Sets are usually in the same order on both sides; canonical order only when they are not.
  if (Array.isArray(left) && Array.isArray(right) && left.length > 0 && sameItems(left, right)) return true;
  return deepEqual(canonicalSet(left), canonicalSet(right));
}

function sameItems(left: readonly unknown[], right: readonly unknown[]): boolean {
  if (left.length !== right.length) return false;
  for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return false;
  return true;
}

function canonicalSet(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  if (value.length === 0) return null;
  return [...new Set(value.map(String))].sort();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Differences between two records: nested records (plugin config, healthchecks) recurse, anything else compares whole. */
function fieldDiffs(before: Record<string, unknown>, after: Record<string, unknown>, prefix = ''): FieldDiff[] {
  const result: FieldDiff[] = [];
  for (const field of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const path = `${prefix}${field}`;
    const left = before[field];
    const right = after[field];
    if (isRecord(left) && isRecord(right)) {
      result.push(...fieldDiffs(left, right, `${path}.`));
    } else if (!deepEqual(left, right)) {
      result.push({ field: path, before: left ?? null, after: right ?? null });
    }
  }
  return result;
}

/** Structural equality of JSON values; key order is irrelevant and a missing key equals null. */
export function deepEqual(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (left === undefined || left === null) return right === undefined || right === null;
  if (Array.isArray(left)) {
    return Array.isArray(right) && left.length === right.length && left.every((item, i) => deepEqual(item, right[i]));
  }
  if (isRecord(left) && isRecord(right)) {
    const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
    for (const key of keys) if (!deepEqual(left[key], right[key])) return false;
    return true;
  }
  return false;
}

/** Names entities the way an operator knows them, looking parents up in both states (desired wins). */
class HumanNames {
  private readonly byId = new Map<string, string>();

  constructor(...states: KongState[]) {
    for (const state of states) {
      for (const service of state.services) this.byId.set(service.id, service.name ?? service.id);
      for (const route of state.routes) this.byId.set(route.id, route.name ?? route.id);
      for (const upstream of state.upstreams) this.byId.set(upstream.id, upstream.name);
      for (const consumer of state.consumers) {
        this.byId.set(consumer.id, consumer.username ?? consumer.custom_id ?? consumer.id);
      }
    }
  }

  of(kind: EntityKind, entity: AnyEntity): string {
    const ref = (fk: { id: string } | null | undefined) => (fk ? (this.byId.get(fk.id) ?? fk.id) : undefined);
    switch (kind) {
      case 'service':
      case 'route':
      case 'upstream':
      case 'consumer':
        return this.byId.get(entity.id) ?? nameField(entity) ?? entity.id;
      case 'target': {
        const target = entity as EntityByKind['target'];
        return `${target.target} on upstream ${ref(target.upstream)}`;
      }
      case 'ca_certificate':
        return `CA certificate ${entity.id}`;
      case 'jwt': {
        const credential = entity as EntityByKind['jwt'];
        return `${credential.key} for consumer ${ref(credential.consumer)}`;
      }
      case 'plugin': {
        const plugin = entity as EntityByKind['plugin'];
        const scopes = [
          plugin.route && `route ${ref(plugin.route)}`,
          plugin.service && `service ${ref(plugin.service)}`,
          plugin.consumer && `consumer ${ref(plugin.consumer)}`,
        ].filter(Boolean);
        return scopes.length > 0 ? `${plugin.name} for ${scopes.join(' and ')}` : `${plugin.name} (global)`;
      }
    }
  }
}

function nameField(entity: AnyEntity): string | undefined {
  const record = entity as Record<string, unknown>;
  const name = record.name ?? record.username ?? record.custom_id;
  return typeof name === 'string' ? name : undefined;
}
