import { ConfigError } from '../config/index.js';
import { shorten } from '../text.js';
import * as z from '../zod.js';
import type { KongApi } from './api.js';
import { type EntityByKind, type EntityKind, entitySchemas, type Target } from './entities.js';
import { KongError } from './errors.js';
import { KongHttp, type KongHttpOptions } from './http.js';
import { KONNECT_KONG_VERSION } from './konnect.js';
import {
  checkSupported,
  type KongVersion,
  needsVersionForPlugin,
  parseKongVersion,
  pluginAsLatest,
  pluginBodyFor,
  supportsJwtAlgorithm,
} from './versions.js';

export interface KongClientOptions extends KongHttpOptions {
  /** Entities per list page, 1..1000 (default 1000, Kong's maximum: one request per 1,000 entities). */
  pageSize?: number;
  /**
   * Kong Enterprise workspace: every entity path is prefixed with `/{workspace}`, as decK's `--workspace` does.
   * `GET /` (the node's version) stays at the root.
   */
  workspace?: string;
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
  offset: z.nullish(z.string()),
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
const WORKSPACE_NAME = /^[A-Za-z0-9._~-]{1,64}$/;

/**
 * The Kong Admin API over HTTP(S): typed CRUD for every entity kind meshgate manages, responses parsed with the
 * entity schemas. Writes address entities by id; targets and jwt credentials live under their parent.
 */
export class KongClient implements KongApi {
  readonly refusesDuplicateCreates = true;
  private readonly http: KongHttp;
  private readonly pageSize: number;
  private readonly workspace?: string;
  /** `/{workspace}` or nothing. */
  private readonly prefix: string;
  /** `GET /` once per client, and only before a write whose body depends on the version. */
  private nodeVersion?: Promise<KongVersion>;
  /** A Konnect control plane's core-entities API (`dialect: 'konnect'`): no root, targets upserted with PUT. */
  private readonly konnect: boolean;

  constructor(options: KongClientOptions) {
    const pageSize = options.pageSize ?? MAX_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new ConfigError(`Kong client pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
    }
    this.pageSize = pageSize;
    if (options.workspace !== undefined && !WORKSPACE_NAME.test(options.workspace)) {
      throw new ConfigError(
        `Kong workspace '${options.workspace}' is invalid: expected 1-64 characters of A-Z a-z 0-9 . _ ~ -`,
      );
    }
    this.konnect = options.dialect === 'konnect';
    if (this.konnect && options.workspace !== undefined) {
      // A control plane is Konnect's unit of isolation; its core-entities API has no workspace prefix.
      throw new ConfigError('KONG_WORKSPACE does not apply to Konnect: give each meshgate its own control plane');
    }
    this.workspace = options.workspace;
    this.prefix = options.workspace ? `/${segment(options.workspace)}` : '';
    this.http = new KongHttp(options);
  }

  close(): void {
    this.http.close();
  }

  async version(signal?: AbortSignal): Promise<string> {
    if (this.konnect) return KONNECT_KONG_VERSION;
    const { body } = await this.http.request('GET', '/', { signal });
    return parseShape(RootSchema, body, 'GET', '/', 'the node root').version;
  }

  /** `GET /`'s `configuration.database`: `off` on a DB-less node. */
  async database(signal?: AbortSignal): Promise<string | undefined> {
    // A Konnect control plane has no root to read; its entities live in Konnect's own store.
    if (this.konnect) return 'konnect';
    const { body } = await this.http.request('GET', '/', { signal });
    const database = (body as { configuration?: { database?: unknown } } | undefined)?.configuration?.database;
    return typeof database === 'string' ? database : undefined;
  }

  /** The node's version, read once; a version outside the supported range (3.4 to 3.9) is refused. */
  supportedVersion(signal?: AbortSignal): Promise<KongVersion> {
    if (!this.nodeVersion) {
      this.nodeVersion = this.version(signal).then((raw) => {
        const version = parseKongVersion(raw);
        checkSupported(version);
        return version;
      });
      // A failed read is not cached: the next write asks again.
      this.nodeVersion.catch(() => {
        this.nodeVersion = undefined;
      });
    }
    return this.nodeVersion;
  }

  async list<K extends EntityKind>(
    kind: K,
    options: { tags?: string[]; upstream?: string; consumer?: string; signal?: AbortSignal } = {},
  ): Promise<EntityByKind[K][]> {
    const tags = options.tags ?? [];
    const parent = kind === 'target' ? options.upstream : kind === 'jwt' ? options.consumer : undefined;
    const collection = this.prefix + readCollection(kind, parent);
    checkTagFilter(tags, collection);
    const query = `?size=${this.pageSize}${tags.length > 0 ? `&tags=${segment(tags.join(','))}` : ''}`;
    const entities: EntityByKind[K][] = [];
    let offset: string | null | undefined;
    const seenOffsets = new Set<string>();
    do {
      const path = `${collection}${query}${offset ? `&offset=${segment(offset)}` : ''}`;
      const { body } = await this.inWorkspace(() => this.http.request('GET', path, { signal: options.signal }));
      const page = parseShape(PageSchema, body, 'GET', path, 'a page');
      for (const item of page.data) {
        const entity = parseEntity(kind, item, 'GET', path);
        // Kong ignores `tags` on nested lists (targets); checking every kind keeps the ownership filter uniform.
        if (hasAllTags(entity, tags)) entities.push(entity);
      }
      // A server that hands back an offset it already gave would be followed forever.
      if (page.offset && seenOffsets.has(page.offset)) {
        throw new KongError(`Kong GET ${path} repeated the offset '${shorten(page.offset, 80)}'; paging stopped`, {
          method: 'GET',
          path,
        });
      }
      if (page.offset) seenOffsets.add(page.offset);
      offset = page.offset;
    } while (offset);
    return entities;
  }

  async get<K extends EntityKind>(
    kind: K,
    key: string,
    options: { parent?: string; signal?: AbortSignal } = {},
  ): Promise<EntityByKind[K] | undefined> {
    const path = `${this.prefix}${readCollection(kind, options.parent)}/${segment(key)}`;
    const { status, body } = await this.http.request('GET', path, { signal: options.signal, allowNotFound: true });
    return status === 404 ? undefined : parseEntity(kind, body, 'GET', path);
  }

  create<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal): Promise<void> {
    return this.write(kind, 'POST', this.prefix + collectionPath(kind, entity), writeBody(kind, entity, true), signal);
  }

  update<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal): Promise<void> {
    // Kong's PUT on a target is a partial update anyway; PATCH says so. The id is in the path. Konnect has no
    // PATCH at all: it upserts targets with PUT like every other entity.
    if (kind === 'target' && !this.konnect) {
      return this.write(kind, 'PATCH', this.prefix + entityPath(kind, entity), writeBody(kind, entity, false), signal);
    }
    return this.write(kind, 'PUT', this.prefix + entityPath(kind, entity), writeBody(kind, entity, true), signal);
  }

  async upsert<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal): Promise<void> {
    if (kind !== 'target' || this.konnect) return this.update(kind, entity, signal);
    // Kong cannot PUT-create a target: POST, and on "already exists" (409 unique, or code 3 primary key) PATCH it.
    try {
      return await this.create(kind, entity, signal);
    } catch (error) {
      if (error instanceof KongError && error.isTaken) return this.update(kind, entity, signal);
      throw error;
    }
  }

  async delete<K extends EntityKind>(kind: K, entity: EntityByKind[K], signal?: AbortSignal): Promise<void> {
    // Kong answers 204 for an absent entity, but 404 when the parent of a nested one is gone: absent either way.
    await this.http.request('DELETE', this.prefix + entityPath(kind, entity), { signal, allowNotFound: true });
  }

  private async write(
    kind: EntityKind,
    method: string,
    path: string,
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    try {
      await this.http.request(method, path, { body: await this.forNode(kind, body, signal), signal });
    } catch (error) {
      // 405 code 12 "operation unsupported": the node runs without a database, which this client cannot write.
      if (error instanceof KongError && error.code === 12)
        throw new KongError(`${error.message}: this Kong runs DB-less; set KONG_MODE=dbless (or auto)`, {
          method,
          path,
          status: error.status,
          code: 12,
          cause: error,
        });
      throw error;
    }
  }

  /**
   * The body as the node's version accepts it. Only a jwt plugin (its `realm`) and an EdDSA credential differ
   * across 3.4–3.9, so only those writes read the version (once per client).
   */
  private async forNode(kind: EntityKind, body: Record<string, unknown>, signal?: AbortSignal) {
    if (kind === 'plugin' && needsVersionForPlugin(body))
      return pluginBodyFor(await this.supportedVersion(signal), body);
    if (kind === 'jwt' && body.algorithm === 'EdDSA') {
      const version = await this.supportedVersion(signal);
      if (!supportsJwtAlgorithm(version, body.algorithm))
        throw new KongError(`Kong ${version.raw} does not accept EdDSA JWT credentials (Kong 3.7 or later does)`, {
          method: 'PUT',
          path: '/consumers/{consumer}/jwt',
        });
    }
    return body;
  }

  /** A 404 on a workspace's collection means the workspace does not exist: say so. */
  private async inWorkspace<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (this.workspace && error instanceof KongError && error.isNotFound)
        throw new KongError(`Kong workspace '${this.workspace}' does not exist (${error.method} ${error.path}: 404)`, {
          method: error.method,
          path: error.path,
          status: 404,
          cause: error,
        });
      throw error;
    }
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
  const latest = kind === 'plugin' ? pluginAsLatest(body) : body;
  return parseShape(entitySchemas[kind], latest, method, path, `a ${kind}`) as EntityByKind[K];
}

/** Parses a response body; an unexpected shape is a KongError naming the fields, never a crash further on. */
function parseShape<T extends z.ZodMiniType>(
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
