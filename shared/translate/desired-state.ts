import {
  type AnyEntity,
  type EntityByKind,
  type EntityKind,
  emptyKongState,
  entityKinds,
  type KongState,
  withTags,
} from '../kong/entities.js';
import { ownershipTags } from '../kong/ownership.js';
import { withObjectTag } from './provenance.js';

/** A source object that could not be translated, and why; the object is left out of the desired state. */
export interface TranslationFailure {
  /** e.g. `appmesh:mesh/gw/route`, `appmesh:mesh/gw`, `cloudmap:ns/svc`, `consumer:alice` */
  object: string;
  field?: string;
  reason: string;
  /**
   * Refused by policy (an address meshgate must never route to): what the object had in Kong is removed, not kept
   * as for other failures.
   */
  refused?: true;
}

export interface TranslationResult {
  state: KongState;
  failures: TranslationFailure[];
}

/** One entity a source object yields, with the natural key its ID is derived from. */
export type PendingEntity = { [K in EntityKind]: { kind: K; key: string; entity: EntityByKind[K] } }[EntityKind];

/** Thrown while translating one source object: that object is recorded as failed and left out, the rest goes on. */
export class Rejection extends Error {
  constructor(
    readonly field: string | undefined,
    reason: string,
    readonly refused = false,
  ) {
    super(reason);
    this.name = 'Rejection';
  }
}

export function reject(field: string | undefined, reason: string): never {
  throw new Rejection(field, reason);
}

/** Rejects a value that must never reach Kong (see TranslationFailure.refused). */
export function refuse(field: string | undefined, reason: string): never {
  throw new Rejection(field, reason, true);
}

export type EntitySource = 'appmesh' | 'cloudmap' | 'secretsmanager';

/** Ownership tags plus the source, sorted: Kong treats tags as a set, so a stable order keeps diffs clean. */
export function entityTags(instance: string, source: EntitySource): string[] {
  return [...ownershipTags(instance), `meshgate:source=${source}`].sort();
}

// The Kong field that carries each kind's natural key, named when two source objects collide on it.
const KEY_FIELD: Record<EntityKind, string> = {
  service: 'name',
  route: 'name',
  upstream: 'name',
  target: 'target',
  consumer: 'username',
  jwt: 'key',
  plugin: 'name',
  ca_certificate: 'cert',
};

/** Nested values that many entities hold alike: upstream health checks, plugin config, one source object's tags. */
const SHARED_RECORDS = ['healthchecks', 'config', 'tags'] as const;

/**
 * The desired Kong state being built. Each source object is added all-or-nothing: if its translation is rejected
 * or one of its entities collides with an entity an earlier object produced, none of its entities are kept.
 * Callers add source objects in a sorted order, so which of two colliding objects wins is deterministic.
 */
export class DesiredState {
  private readonly byKind = new Map<EntityKind, Map<string, { entity: AnyEntity; object: string }>>(
    entityKinds.map((kind) => [kind, new Map()]),
  );
  private readonly failures: TranslationFailure[] = [];
  /** The first of each distinct nested value (see SHARED_RECORDS), by field and JSON. */
  private readonly records = new Map<string, unknown>();

  /** Translates one source object; returns whether its entities were kept (an empty translation is an opt-out). */
  add(object: string, translateObject: () => PendingEntity[]): boolean {
    let pending: PendingEntity[];
    try {
      pending = translateObject();
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      this.fail(object, error.field, error.message, error.refused);
      return false;
    }
    for (const { kind, key } of pending) {
      const earlier = this.entitiesOf(kind).get(key);
      if (earlier) {
        this.fail(object, KEY_FIELD[kind], `Kong ${kind} '${key}' is already produced by ${earlier.object}`);
        return false;
      }
    }
    for (const { kind, key, entity } of pending) {
      // Every entity names its source object, so a later run that cannot read or translate it keeps it in Kong.
      const tagged = withTags(entity, withObjectTag(entity.tags, object));
      this.shareRecords(tagged);
      this.entitiesOf(kind).set(key, { entity: tagged, object });
    }
    return true;
  }

  /**
   * Points an entity's nested values at an equal one built before. Every upstream has the same healthchecks, every
   * plugin of a name the same config, and the service, route, plugins and upstream of one source object the same
   * tags: one instance of each instead of one per entity (a tenth to a quarter of the desired state's heap at
   * 10,000 services, docs/performance.md). Safe because entities are never mutated once built; the entity is this
   * state's own copy (withTags), not yet shared.
   */
  private shareRecords(entity: AnyEntity): void {
    const fields = entity as Record<string, unknown>;
    for (const field of SHARED_RECORDS) {
      const value = fields[field];
      if (value === null || typeof value !== 'object') continue;
      const key = `${field}:${JSON.stringify(value)}`;
      const first = this.records.get(key);
      if (first === undefined) this.records.set(key, value);
      else fields[field] = first;
    }
  }

  fail(object: string, field: string | undefined, reason: string, refused = false): void {
    this.failures.push({ object, ...(field === undefined ? {} : { field }), reason, ...(refused ? { refused } : {}) });
  }

  /** The state with every kind sorted by natural key, and the failures sorted; same input, same bytes. */
  result(): TranslationResult {
    const state = emptyKongState();
    for (const kind of entityKinds) {
      const entries = [...this.entitiesOf(kind)].sort(([a], [b]) => compareStrings(a, b));
      (state[`${kind}s`] as AnyEntity[]).push(...entries.map(([, { entity }]) => entity));
    }
    const failures = [...this.failures].sort(
      (a, b) =>
        compareStrings(a.object, b.object) ||
        compareStrings(a.field ?? '', b.field ?? '') ||
        compareStrings(a.reason, b.reason),
    );
    return { state, failures };
  }

  private entitiesOf(kind: EntityKind): Map<string, { entity: AnyEntity; object: string }> {
    return this.byKind.get(kind)!;
  }
}

/** Code-unit order: unlike localeCompare it does not depend on the runtime's locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => compareStrings(key(a), key(b)));
}
