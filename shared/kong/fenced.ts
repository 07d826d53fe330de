import type { KongApi } from './api.js';
import type { EntityByKind, EntityKind } from './entities.js';

/**
 * A Kong client that runs `fence` before every write and writes nothing when it throws: the writes of a rotation
 * step or a key rollback stop as soon as the writer's state-store lease can no longer be vouched for. Reads pass.
 */
export function fencedKong(kong: KongApi, fence: () => Promise<void> | void): KongApi {
  return {
    get batchesWrites() {
      return kong.batchesWrites;
    },
    get refusesDuplicateCreates() {
      return kong.refusesDuplicateCreates;
    },
    version: (signal) => kong.version(signal),
    list: (kind, options) => kong.list(kind, options),
    get: (kind, key, options) => kong.get(kind, key, options),
    async create<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal) {
      await fence();
      return kong.create(kind, entity, signal);
    },
    async update<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal) {
      await fence();
      return kong.update(kind, entity, signal);
    },
    async upsert<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal) {
      await fence();
      return kong.upsert(kind, entity, signal);
    },
    async delete<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal) {
      await fence();
      return kong.delete(kind, entity, signal);
    },
  };
}

/** A fence that only reads the lease's signal: no I/O, so it costs nothing per write. */
export function signalFence(signal: AbortSignal): () => void {
  return () => signal.throwIfAborted();
}
