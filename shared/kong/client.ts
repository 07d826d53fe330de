import { z } from 'zod';
import { ConfigError } from '../config/index.js';
import type { KongApi } from './api.js';
import { type EntityByKind, type EntityKind, entitySchemas, type Target } from './entities.js';
import { KongError } from './errors.js';
import { KongHttp, type KongHttpOptions } from './http.js';

export interface KongClientOptions extends KongHttpOptions {
  /** Entities per list page, 1..1000 (default 1000, Kong's maximum: one request per 1,000 entities). */
  pageSize?: number;
}

const MAX_PAGE_SIZE = 1000;
const MAX_TAG_FILTERS = 5;

const TOP_LEVEL_COLLECTIONS = {
  service: '/services',
  route: '/routes',
  upstream: '/upstreams',
  consumer: '/consumers',
  plugin: '/plugins',
  jwt: '/jwts',
  ca_certificate: '/ca_certificates',
} as const;

const PageSchema = z.object({
  data: z.array(z.unknown()),
  offset: z.string().nullish(),
});
const RootSchema = z.object({ version: z.string() });

// Kong sets timestamps itself; a write carries only the entity's own fields.
const WRITABLE_FIELDS = Object.fromEntries(
  Object.entries(entitySchemas).map(([kind, schema]) => [
    kind,
    Object.keys(schema.shape).filter((field) => field !== 'created_at' && field !== 'updated_at'),
  ]),
) as Record<EntityKind, string[]>;

const segment = encodeURIComponent;

/**
 * The Kong Admin API over HTTP(S): typed CRUD for every entity kind meshgate manages, responses parsed with the
 * entity schemas. Writes address entities by id; targets and jwt credentials live under their parent.
 */
export class KongClient implements KongApi {
  private readonly http: KongHttp;
  private readonly pageSize: number;

  constructor(options: KongClientOptions) {
    const pageSize = options.pageSize ?? MAX_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new ConfigError(`Kong client pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
    }
    this.pageSize = pageSize;
    this.http = new KongHttp(options);
  }

  close(): void {
    this.http.close();
  }

  async version(signal?: AbortSignal): Promise<string> {
    const { body } = await this.http.request('GET', '/', { signal });
    return parseShape(RootSchema, body, 'GET', '/', 'the node root').version;
  }

  async list<K extends EntityKind>(
    kind: K,
    options: { tags?: string[]; upstream?: string; signal?: AbortSignal } = {},
  ): Promise<EntityByKind[K][]> {
    const tags = options.tags ?? [];
    const collection = readCollection(kind, kind === 'target' ? options.upstream : undefined);
    checkTagFilter(tags, collection);
    const query = `?size=${this.pageSize}${tags.length > 0 ? `&tags=${segment(tags.join(','))}` : ''}`;
    const entities: EntityByKind[K][] = [];
    let offset: string | null | undefined;
    do {
      const path = `${collection}${query}${offset ? `&offset=${segment(offset)}` : ''}`;
      const { body } = await this.http.request('GET', path, { signal: options.signal });
      const page = parseShape(PageSchema, body, 'GET', path, 'a page');
      for (const item of page.data) {
        const entity = parseEntity(kind, item, 'GET', path);
        // Kong ignores `tags` on nested lists (targets); checking every kind keeps the ownership filter uniform.
        if (hasAllTags(entity, tags)) entities.push(entity);
      }
      offset = page.offset;
    } while (offset);
    return entities;
  }

  async get<K extends EntityKind>(
    kind: K,
    key: string,
    options: { parent?: string; signal?: AbortSignal } = {},
  ): Promise<EntityByKind[K] | undefined> {
    const path = `${readCollection(kind, options.parent)}/${segment(key)}`;
    const { status, body } = await this.http.request('GET', path, { signal: options.signal, allowNotFound: true });
    return status === 404 ? undefined : parseEntity(kind, body, 'GET', path);
  }

  create<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal): Promise<EntityByKind[K]> {
    return this.write(kind, 'POST', collectionPath(kind, entity), writeBody(kind, entity, true), signal);
  }

  update<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal): Promise<EntityByKind[K]> {
    // Kong's PUT on a target is a partial update anyway; PATCH says so. The id is in the path.
    if (kind === 'target') {
      return this.write(kind, 'PATCH', entityPath(kind, entity), writeBody(kind, entity, false), signal);
    }
    return this.write(kind, 'PUT', entityPath(kind, entity), writeBody(kind, entity, true), signal);
  }

  async upsert<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal): Promise<EntityByKind[K]> {
    if (kind !== 'target') return this.update(kind, entity, signal);
    // Kong cannot PUT-create a target: POST, and on "already exists" (409 unique, or code 3 primary key) PATCH it.
    try {
      return await this.create(kind, entity, signal);
    } catch (error) {
      if (error instanceof KongError && (error.isConflict || error.code === 3))
        return this.update(kind, entity, signal);
      throw error;
    }
  }

  async delete<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal): Promise<void> {
    // Kong answers 204 for an absent entity, but 404 when the parent of a nested one is gone: absent either way.
    await this.http.request('DELETE', entityPath(kind, entity), { signal, allowNotFound: true });
  }

  private async write<K extends EntityKind>(
    kind: K,
    method: string,
    path: string,
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<EntityByKind[K]> {
    const response = await this.http.request(method, path, { body, signal });
    return parseEntity(kind, response.body, method, path);
  }
}

function requireParent(kind: EntityKind, parent: string | undefined): string {
  if (!parent) {
    throw new KongError(`Kong ${kind} entities live under their upstream: pass its id or name`, {
      method: 'GET',
      path: '/upstreams/{upstream}/targets',
    });
  }
  return parent;
}

/** Where entities are read: targets under their upstream, jwt credentials under their consumer or `/jwts`. */
function readCollection(kind: EntityKind, parent: string | undefined): string {
  if (kind === 'target') return `/upstreams/${segment(requireParent(kind, parent))}/targets`;
  if (kind === 'jwt' && parent) return `/consumers/${segment(parent)}/jwt`;
  return TOP_LEVEL_COLLECTIONS[kind];
}

/** Where an entity is created: nested kinds under the parent their foreign key names. */
function collectionPath(kind: EntityKind, entity: EntityByKind[EntityKind]): string {
  if (kind === 'target') return `/upstreams/${segment((entity as Target).upstream.id)}/targets`;
  if (kind === 'jwt') return `/consumers/${segment((entity as EntityByKind['jwt']).consumer.id)}/jwt`;
  return TOP_LEVEL_COLLECTIONS[kind];
}

function entityPath(kind: EntityKind, entity: EntityByKind[EntityKind]): string {
  return `${collectionPath(kind, entity)}/${segment(entity.id)}`;
}

function writeBody(kind: EntityKind, entity: EntityByKind[EntityKind], withId: boolean): Record<string, unknown> {
  const source = entity as unknown as Record<string, unknown>;
  const body: Record<string, unknown> = {};
  for (const field of WRITABLE_FIELDS[kind]) {
    if (source[field] !== undefined && (withId || field !== 'id')) body[field] = source[field];
  }
  return body;
}

function checkTagFilter(tags: string[], collection: string): void {
  const bad = tags.find((tag) => tag === '' || tag.includes(',') || tag.includes('/'));
  if (bad !== undefined) {
    throw new KongError(`tag filter '${bad}' is invalid: tags must be non-empty and contain neither ',' nor '/'`, {
      method: 'GET',
      path: collection,
    });
  }
  if (tags.length > MAX_TAG_FILTERS) {
    throw new KongError(`Kong filters on at most ${MAX_TAG_FILTERS} tags, got ${tags.length}`, {
      method: 'GET',
      path: collection,
    });
  }
}

function hasAllTags(entity: { tags: string[] | null }, tags: string[]): boolean {
  return tags.every((tag) => entity.tags?.includes(tag));
}

function parseEntity<K extends EntityKind>(kind: K, body: unknown, method: string, path: string): EntityByKind[K] {
  return parseShape(entitySchemas[kind], body, method, path, `a ${kind}`) as EntityByKind[K];
}

/** Parses a response body; an unexpected shape is a KongError naming the fields, never a crash further on. */
function parseShape<T extends z.ZodType>(
  schema: T,
  body: unknown,
  method: string,
  path: string,
  what: string,
): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
  throw new KongError(`Kong ${method} ${path} answered with an unexpected shape for ${what}: ${problems}`, {
    method,
    path,
    cause: result.error,
  });
}
