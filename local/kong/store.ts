import { type CollectionName, collectionNames, type Entity, type EntityDef, entityDefs } from './schemas/index.js';

/**
 * Indexed in-memory storage: per collection a primary map, a sorted id index (Kong pages by primary key), unique
 * maps, a tag index and parent→children indexes, so a page costs O(page size + log n) whatever the entity count.
 */

/** Blocks are split past this many ids, so an insert moves at most this many elements. */
const BLOCK_SIZE = 512;

/**
 * Ids kept sorted in a list of sorted blocks: lookups and inserts cost a binary search over the blocks plus one
 * over a block (O(log n + block size)), so 100k ids insert as fast as 100.
 */
export class SortedIds {
  private readonly blocks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Index of the first block whose last id is >= `id` (blocks.length when none). */
  private blockFor(id: string): number {
    let low = 0;
    let high = this.blocks.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const block = this.blocks[mid] as string[];
      if ((block[block.length - 1] as string) < id) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private static lowerBound(block: string[], id: string): number {
    let low = 0;
    let high = block.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((block[mid] as string) < id) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  add(id: string): void {
    if (this.blocks.length === 0) {
      this.blocks.push([id]);
      this.count = 1;
      return;
    }
    const blockIndex = Math.min(this.blockFor(id), this.blocks.length - 1);
    const block = this.blocks[blockIndex] as string[];
    const index = SortedIds.lowerBound(block, id);
    if (block[index] === id) return;
    block.splice(index, 0, id);
    this.count += 1;
    if (block.length > 2 * BLOCK_SIZE) this.blocks.splice(blockIndex + 1, 0, block.splice(BLOCK_SIZE));
  }

  delete(id: string): void {
    const blockIndex = this.blockFor(id);
    const block = this.blocks[blockIndex];
    if (!block) return;
    const index = SortedIds.lowerBound(block, id);
    if (block[index] !== id) return;
    block.splice(index, 1);
    this.count -= 1;
    if (block.length === 0) this.blocks.splice(blockIndex, 1);
  }

  has(id: string): boolean {
    const block = this.blocks[this.blockFor(id)];
    return block !== undefined && block[SortedIds.lowerBound(block, id)] === id;
  }

  /** Ids greater than `after` (or equal, when `inclusive`; all when undefined), ascending. */
  *from(after?: string, inclusive = false): Generator<string> {
    let blockIndex = after === undefined ? 0 : this.blockFor(after);
    let index = 0;
    if (after !== undefined && this.blocks[blockIndex]) {
      const block = this.blocks[blockIndex] as string[];
      index = SortedIds.lowerBound(block, after);
      if (block[index] === after && !inclusive) index += 1;
    }
    for (; blockIndex < this.blocks.length; blockIndex += 1, index = 0) {
      const block = this.blocks[blockIndex] as string[];
      for (; index < block.length; index += 1) yield block[index] as string;
    }
  }
}

/** Merges ascending id streams into one ascending stream without duplicates. */
export function* mergeAscending(streams: Iterator<string>[]): Generator<string> {
  const heads = streams.map((stream) => stream.next());
  let last: string | undefined;
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i += 1) {
      const head = heads[i] as IteratorResult<string>;
      if (!head.done && (best < 0 || head.value < (heads[best] as IteratorYieldResult<string>).value)) best = i;
    }
    if (best < 0) return;
    const value = (heads[best] as IteratorYieldResult<string>).value;
    heads[best] = (streams[best] as Iterator<string>).next();
    if (value !== last) yield value;
    last = value;
  }
}

const fkId = (value: unknown): string | undefined =>
  value && typeof value === 'object' ? ((value as { id?: string }).id ?? undefined) : undefined;

/** Canonical text of a cache key (plugins: name+route+service+consumer; targets: upstream+target). */
export function cacheKeyOf(def: EntityDef, entity: Record<string, unknown>): string | undefined {
  if (!def.cacheKey) return undefined;
  return JSON.stringify(def.cacheKey.map((field) => fkId(entity[field]) ?? entity[field] ?? null));
}

export class Collection {
  readonly rows = new Map<string, Entity>();
  readonly order = new SortedIds();
  private readonly unique = new Map<string, Map<unknown, string>>();
  private readonly cacheKeys = new Map<string, string>();
  private readonly byTag = new Map<string, SortedIds>();
  /** Entities with at least one tag (for `/tags`). */
  readonly tagged = new SortedIds();
  private readonly children = new Map<string, Map<string, SortedIds>>();
  /** Per parent in insertion order (targets are listed newest first). */
  private readonly insertionOrder = new Map<string, string[]>();

  constructor(readonly def: EntityDef) {
    for (const field of def.uniqueFields) this.unique.set(field, new Map());
    for (const fk of def.foreignKeys) this.children.set(fk.field, new Map());
  }

  get(id: string): Entity | undefined {
    return this.rows.get(id);
  }

  idByUnique(field: string, value: unknown): string | undefined {
    return this.unique.get(field)?.get(value);
  }

  idByCacheKey(entity: Record<string, unknown>): string | undefined {
    const key = cacheKeyOf(this.def, entity);
    return key === undefined ? undefined : this.cacheKeys.get(key);
  }

  /** Ids of children whose `field` references `parentId`, ascending. */
  childIds(field: string, parentId: string): SortedIds | undefined {
    return this.children.get(field)?.get(parentId);
  }

  /** Children of one parent newest first (Kong's target list order). */
  newestFirst(field: string, parentId: string): string[] {
    return [...(this.insertionOrder.get(`${field}:${parentId}`) ?? [])].reverse();
  }

  taggedWith(tag: string): SortedIds | undefined {
    return this.byTag.get(tag);
  }

  put(entity: Entity): void {
    const previous = this.rows.get(entity.id);
    if (previous) this.unindex(previous, false);
    this.rows.set(entity.id, entity);
    this.order.add(entity.id);
    for (const [field, map] of this.unique) if (entity[field] != null) map.set(entity[field], entity.id);
    const key = cacheKeyOf(this.def, entity);
    if (key !== undefined) this.cacheKeys.set(key, entity.id);
    if (((entity.tags as string[] | null) ?? []).length > 0) this.tagged.add(entity.id);
    for (const tag of (entity.tags as string[] | null) ?? []) {
      const ids = this.byTag.get(tag) ?? new SortedIds();
      this.byTag.set(tag, ids);
      ids.add(entity.id);
    }
    for (const [field, byParent] of this.children) {
      const parent = fkId(entity[field]);
      if (!parent) continue;
      const ids = byParent.get(parent) ?? new SortedIds();
      byParent.set(parent, ids);
      ids.add(entity.id);
      const previousParent = previous ? fkId(previous[field]) : undefined;
      if (previousParent !== parent) {
        if (previousParent) this.dropFromOrder(field, previousParent, entity.id);
        const order = this.insertionOrder.get(`${field}:${parent}`) ?? [];
        order.push(entity.id);
        this.insertionOrder.set(`${field}:${parent}`, order);
      }
    }
  }

  remove(id: string): Entity | undefined {
    const entity = this.rows.get(id);
    if (!entity) return undefined;
    this.unindex(entity, true);
    this.rows.delete(id);
    this.order.delete(id);
    return entity;
  }

  private unindex(entity: Entity, removing: boolean): void {
    for (const [field, map] of this.unique) if (map.get(entity[field]) === entity.id) map.delete(entity[field]);
    const key = cacheKeyOf(this.def, entity);
    if (key !== undefined && this.cacheKeys.get(key) === entity.id) this.cacheKeys.delete(key);
    this.tagged.delete(entity.id);
    for (const tag of (entity.tags as string[] | null) ?? []) {
      const ids = this.byTag.get(tag);
      ids?.delete(entity.id);
      if (ids?.size === 0) this.byTag.delete(tag);
    }
    for (const [field, byParent] of this.children) {
      const parent = fkId(entity[field]);
      if (!parent) continue;
      const ids = byParent.get(parent);
      ids?.delete(entity.id);
      if (ids?.size === 0) byParent.delete(parent);
      if (removing) this.dropFromOrder(field, parent, entity.id);
    }
  }

  private dropFromOrder(field: string, parent: string, id: string): void {
    const order = this.insertionOrder.get(`${field}:${parent}`);
    const index = order?.indexOf(id) ?? -1;
    if (order && index >= 0) order.splice(index, 1);
  }
}

/** Every collection, plus the cross-collection operations (cascading deletes, tag listing). */
export class KongStore {
  readonly collections: Record<CollectionName, Collection>;

  constructor() {
    this.collections = Object.fromEntries(
      collectionNames.map((name) => [name, new Collection(entityDefs[name])]),
    ) as Record<CollectionName, Collection>;
  }

  collection(name: CollectionName): Collection {
    return this.collections[name];
  }

  /** Collections with a foreign key to `name`, with the field and the delete rule. */
  referencing(name: CollectionName): { collection: Collection; field: string; onDelete: 'cascade' | 'restrict' }[] {
    return collectionNames.flatMap((child) =>
      entityDefs[child].foreignKeys
        .filter((fk) => fk.reference === name)
        .map((fk) => ({ collection: this.collections[child], field: fk.field, onDelete: fk.onDelete })),
    );
  }

  /** The first collection whose rows reference this entity with a restricting foreign key. */
  restrictedBy(name: CollectionName, id: string): CollectionName | undefined {
    return this.referencing(name).find(
      (ref) => ref.onDelete === 'restrict' && (ref.collection.childIds(ref.field, id)?.size ?? 0) > 0,
    )?.collection.def.name;
  }

  /** Deletes the entity and, recursively, every entity that cascades from it. */
  delete(name: CollectionName, id: string): Entity | undefined {
    const entity = this.collections[name].remove(id);
    if (!entity) return undefined;
    for (const ref of this.referencing(name)) {
      if (ref.onDelete !== 'cascade') continue;
      const ids = ref.collection.childIds(ref.field, id);
      for (const childId of ids ? [...ids.from()] : []) this.delete(ref.collection.def.name, childId);
    }
    return entity;
  }

  clear(): void {
    for (const name of collectionNames) this.collections[name] = new Collection(entityDefs[name]);
  }
}
