import type { EntityByKind, EntityKind } from './entities.js';

/**
 * What the reconcile engine, rotation and the CLI need from a Kong Admin API. The client in `client.ts` implements
 * it over HTTP; writes address entities by id (PUT upserts for every kind except targets, which Kong only creates
 * with POST and updates with PATCH).
 */
export interface KongApi {
  /**
   * Writes complete only when written out together (a DB-less fleet posts one configuration per batch): the apply
   * then starts all writes of a stage at once instead of a bounded number, so a stage is one batch.
   */
  readonly batchesWrites?: boolean;
  /**
   * A create of an id that exists fails (409) rather than replacing the entity: true for a Kong with a database;
   * a DB-less node posts its configuration whole, so a caller that must not replace looks first.
   */
  readonly refusesDuplicateCreates?: boolean;
  /** `GET /` : the node's version string, e.g. "3.9.3". */
  version(signal?: AbortSignal): Promise<string>;
  /**
   * Every entity of a kind, following `offset` across pages of `size` 1000. `tags` filter with AND on top-level
   * collections. Targets need `upstream` (id or name): Kong lists them per upstream only. `consumer` (id or
   * username) lists one consumer's jwt credentials rather than every consumer's.
   */
  list<K extends EntityKind>(
    kind: K,
    options?: { tags?: string[]; upstream?: string; consumer?: string; signal?: AbortSignal },
  ): Promise<EntityByKind[K][]>;
  /** One entity by id or endpoint key, or undefined on 404. Targets and credentials are read under their parent. */
  get<K extends EntityKind>(
    kind: K,
    key: string,
    options?: { parent?: string; signal?: AbortSignal },
  ): Promise<EntityByKind[K] | undefined>;
  /**
   * Creates (POST) the entity with its id. Writes resolve once Kong accepted them and return nothing: no caller uses
   * Kong's echo of the entity, and parsing it cost ≈ 15 % of a full sync's CPU (one response per write).
   */
  create<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal): Promise<void>;
  /** Replaces the entity by id (PUT; PATCH for targets). */
  update<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal): Promise<void>;
  /** Creates or replaces by id (PUT); for targets, create then fall back to update on 409. */
  upsert<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal): Promise<void>;
  /** Deletes by id (204 even when absent). */
  delete<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal): Promise<void>;
}
