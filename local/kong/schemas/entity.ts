import type { ErrorTree } from '../errors.js';
import type { EntityCheck, Fields } from './fields.js';

export type CollectionName =
  | 'services'
  | 'routes'
  | 'upstreams'
  | 'targets'
  | 'consumers'
  | 'jwt_secrets'
  | 'plugins'
  | 'ca_certificates';

export type Entity = Record<string, unknown> & { id: string };

export interface ForeignKey {
  field: string;
  reference: CollectionName;
  onDelete: 'cascade' | 'restrict';
}

/** How the double stores, validates and serves one Kong entity (DAO schema + its Admin API names). */
export interface EntityDef {
  name: CollectionName;
  /** Path segment of the top-level collection (`jwts` for jwt_secrets); undefined when Kong disables it. */
  adminName?: string;
  /** Path segment under a parent (`/consumers/{c}/jwt`). */
  nestedName: string;
  /** Field a non-UUID path key is looked up by. */
  endpointKey?: string;
  uniqueFields: string[];
  /** Fields whose combination is unique (Kong's cache_key). */
  cacheKey?: string[];
  foreignKeys: ForeignKey[];
  /** Targets carry float timestamps; jwt_secrets have no updated_at. */
  timestamps: { updated: boolean; float: boolean };
  /** Fields and entity checks for this input (plugins depend on `name`); `error` refuses the input outright. */
  schemaFor(input: Record<string, unknown>): { fields: Fields; checks: EntityCheck[]; error?: ErrorTree };
  /** Input-only shorthands (service `url`, otel `config.endpoint`) expanded before validation. */
  expandShorthands?(input: Record<string, unknown>): Record<string, unknown>;
  /** Canonical form of a valid entity (targets: `host:port` with the default port). */
  normalize?(entity: Entity): Entity;
}

export function staticSchema(fields: Fields, checks: EntityCheck[] = []): EntityDef['schemaFor'] {
  return () => ({ fields, checks });
}
