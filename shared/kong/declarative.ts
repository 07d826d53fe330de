import type { KongApi } from './api.js';
import { type EntityByKind, type EntityKind, entityKinds, entitySchemas } from './entities.js';
import { KongError } from './errors.js';
import { KongHttp, type KongHttpOptions } from './http.js';
import { isOwned } from './ownership.js';

/**
 * A fleet of DB-less Kong nodes (`database = off`) behind the KongApi the reconcile engine, rotation and rollback
 * use. A DB-less node takes no entity writes: its whole configuration is replaced with `POST /config`. So reads come
 * from the first node's `GET /config`, writes change meshgate's own entities in memory, and the writes issued
 * together (one apply stage) are flushed as one configuration per node: that node's current configuration read
 * again, every entity meshgate does not own kept exactly as it is, meshgate's replaced, posted with
 * `flatten_errors` so a refused entity is reported by name. A write resolves only once every node has taken it.
 */

/** Declarative sections of the kinds meshgate manages (DAO names). */
const SECTION: Record<EntityKind, string> = {
  service: 'services',
  route: 'routes',
  upstream: 'upstreams',
  target: 'targets',
  consumer: 'consumers',
  jwt: 'jwt_secrets',
  plugin: 'plugins',
  ca_certificate: 'ca_certificates',
};
const FOREIGN_FIELDS: Partial<Record<EntityKind, string[]>> = {
  route: ['service'],
  target: ['upstream'],
  jwt: ['consumer'],
  plugin: ['service', 'route', 'consumer'],
};
const ENDPOINT_KEY: Partial<Record<EntityKind, string>> = {
  service: 'name',
  route: 'name',
  upstream: 'name',
  consumer: 'username',
  jwt: 'key',
};

type Raw = Record<string, unknown>;
type Document = Record<string, unknown>;

export interface NodeReport {
  url: string;
  ok: boolean;
  attempts: number;
  /** `GET /status` after the post (Kong's md5 of the configuration it runs). */
  configurationHash?: string;
  error?: string;
}

export interface DeclarativeKongOptions {
  /** Admin API of every node; the first is read. A function is asked again before every flush (discovery). */
  nodes: string[] | (() => Promise<string[]>);
  instance: string;
  /** Connection settings shared by every node (token, CA, timeout, retries). */
  http?: Omit<KongHttpOptions, 'url'>;
  /** Attempts per node and flush, the first included (default 3); each attempt re-reads the node's configuration. */
  nodeAttempts?: number;
  /** Called after every flush with each node's outcome. */
  onFlush?: (reports: NodeReport[]) => void;
}

type Op = { kind: EntityKind; put: Raw } | { kind: EntityKind; remove: string };

interface Pending {
  ops: Op[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** How long a read configuration answers further reads: the lists of one dump, never the next run (another function may write in between). */
const READ_TTL_MS = 200;

export class DeclarativeKong implements KongApi {
  private readonly clients = new Map<string, KongHttp>();
  /** The first node's configuration, for reads; dropped after every write and after READ_TTL_MS. */
  private view?: { at: number; rows: Promise<Map<EntityKind, Raw[]>> };
  private waiting: Pending[] = [];
  private scheduled = false;
  /** Flushes run one after another: a later stage never overtakes an earlier one. */
  private chain: Promise<void> = Promise.resolve();
  lastReports: NodeReport[] = [];
  readonly batchesWrites = true;

  constructor(private readonly options: DeclarativeKongOptions) {}

  close(): void {
    for (const client of this.clients.values()) client.close();
  }

  /** The fleet's nodes run without a database: this client configures them through `/config`. */
  async database(): Promise<string> {
    return 'off';
  }

  async version(signal?: AbortSignal): Promise<string> {
    const [url] = await this.nodeUrls();
    const { body } = await this.client(url as string).request('GET', '/', { signal });
    return String((body as { version?: unknown }).version);
  }

  async list<K extends EntityKind>(
    kind: K,
    options: { tags?: string[]; upstream?: string; consumer?: string; signal?: AbortSignal } = {},
  ): Promise<EntityByKind[K][]> {
    await this.chain;
    const rows = await this.rows(kind, options.signal);
    const tags = options.tags ?? [];
    const upstreamId = options.upstream === undefined ? undefined : await this.idOf('upstream', options.upstream);
    const consumerId =
      kind === 'jwt' && options.consumer !== undefined ? await this.idOf('consumer', options.consumer) : undefined;
    return rows
      .filter((row) => tags.every((tag) => (row.tags as string[] | null | undefined)?.includes(tag)))
      .filter((row) => upstreamId === undefined || (row.upstream as Raw | undefined)?.id === upstreamId)
      .filter((row) => consumerId === undefined || (row.consumer as Raw | undefined)?.id === consumerId)
      .map((row) => entitySchemas[kind].parse(row) as EntityByKind[K]);
  }

  async get<K extends EntityKind>(
    kind: K,
    key: string,
    options: { parent?: string; signal?: AbortSignal } = {},
  ): Promise<EntityByKind[K] | undefined> {
    await this.chain;
    const rows = await this.rows(kind, options.signal);
    const field = ENDPOINT_KEY[kind];
    const row = rows.find((item) => item.id === key || (field !== undefined && item[field] === key));
    return row ? (entitySchemas[kind].parse(row) as EntityByKind[K]) : undefined;
  }

  create<K extends EntityKind>(kind: K, entity: EntityByKind[K]): Promise<void> {
    return this.put(kind, entity);
  }

  update<K extends EntityKind>(kind: K, entity: EntityByKind[K]): Promise<void> {
    return this.put(kind, entity);
  }

  upsert<K extends EntityKind>(kind: K, entity: EntityByKind[K]): Promise<void> {
    return this.put(kind, entity);
  }

  async delete<K extends EntityKind>(kind: K, entity: EntityByKind[K]): Promise<void> {
    await this.enqueue([{ kind, remove: entity.id }]);
  }

  private async put<K extends EntityKind>(kind: K, entity: EntityByKind[K]): Promise<void> {
    if (!isOwned(entity, this.options.instance))
      throw new KongError(`refusing to write ${kind} ${entity.id} without meshgate's ownership tags`, {
        method: 'POST',
        path: '/config',
      });
    const { created_at: _created, updated_at: _updated, ...row } = entity as unknown as Raw;
    await this.enqueue([{ kind, put: row }]);
  }

  /** Writes issued in the same tick share one flush (an apply stage runs its writes together). */
  private enqueue(ops: Op[]): Promise<void> {
    this.view = undefined;
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ ops, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        const batch = this.waiting;
        this.waiting = [];
        this.chain = this.chain.then(() =>
          this.flush(batch.flatMap((item) => item.ops)).then(
            () => {
              for (const item of batch) item.resolve();
            },
            (error: unknown) => {
              for (const item of batch) item.reject(error);
            },
          ),
        );
      });
    });
  }

  /**
   * meshgate's entities as the first node runs them, with `ops` applied, posted to every node together with that
   * node's own foreign entities. Read fresh at every flush: another meshgate function may have written since.
   */
  private async flush(ops: Op[]): Promise<void> {
    const urls = await this.nodeUrls();
    const primary = await readDocument(this.client(urls[0] as string));
    const owned = applyOps(this.ownedOf(primary), ops);
    // The first node's configuration was just read: its first attempt reuses it (a large YAML document costs).
    const reports = await Promise.all(
      urls.map((url, index) => this.flushNode(url, owned, index === 0 ? primary : undefined)),
    );
    this.lastReports = reports;
    this.view = undefined;
    this.options.onFlush?.(reports);
    const failed = reports.filter((report) => !report.ok);
    if (failed.length)
      throw new KongError(
        `${failed.length} of ${reports.length} DB-less Kong node(s) did not take the configuration: ${failed
          .map((report) => `${report.url} (${report.error})`)
          .join('; ')}`,
        { method: 'POST', path: '/config', fields: failed },
      );
  }

  private async flushNode(
    url: string,
    owned: Map<EntityKind, Map<string, Raw>>,
    justRead?: Document,
  ): Promise<NodeReport> {
    const attempts = this.options.nodeAttempts ?? 3;
    const client = this.client(url);
    let error = '';
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      try {
        const before = await statusHash(client);
        const document = attempt === 1 && justRead ? justRead : await readDocument(client);
        const merged = this.merge(document, owned);
        if (canonical(merged) === canonical(document))
          return { url, ok: true, attempts: attempt, configurationHash: before };
        await client.request('POST', '/config?flatten_errors=1', { body: merged });
        const after = await statusHash(client);
        // The node runs a new configuration only once its hash moved off the old one (and off the all-zero one).
        if (after !== before && after !== EMPTY_HASH)
          return { url, ok: true, attempts: attempt, configurationHash: after };
        error = `configuration hash still ${after} after the post`;
      } catch (caught) {
        error = describeFailure(caught);
        // A refused entity will be refused again: no retry.
        if (caught instanceof KongError && caught.code === 14) return { url, ok: false, attempts: attempt, error };
      }
    }
    return { url, ok: false, attempts, error };
  }

  /** meshgate's entities in a configuration, by kind and id, foreign keys as `{id}`. */
  private ownedOf(document: Document): Map<EntityKind, Map<string, Raw>> {
    const owned = new Map<EntityKind, Map<string, Raw>>();
    for (const kind of entityKinds)
      owned.set(
        kind,
        new Map(
          asRows(document[SECTION[kind]])
            .map((row) => fromDeclarative(kind, row))
            .filter((row) => isOwned(row as never, this.options.instance))
            .map((row) => [String(row.id), row]),
        ),
      );
    return owned;
  }

  /** The node's document with its meshgate-owned entities replaced by `owned`. */
  private merge(document: Document, owned: Map<EntityKind, Map<string, Raw>>): Document {
    const merged: Document = { ...document };
    for (const kind of entityKinds) {
      const section = SECTION[kind];
      const foreign = asRows(document[section]).filter((row) => !isOwned(row as never, this.options.instance));
      const mine = [...(owned.get(kind)?.values() ?? [])].map((row) => toDeclarative(kind, row));
      // Without updated_at (Kong stamps every loaded entity anyway), nodes running the same entities are posted the
      // same document and so report the same configuration hash.
      const rows = [...foreign, ...mine]
        .map(({ updated_at: _updated, ...row }) => row)
        .sort((a, b) => String(a.id).localeCompare(String(b.id)));
      if (rows.length) merged[section] = rows;
      else delete merged[section];
    }
    return merged;
  }

  private async rows(kind: EntityKind, signal?: AbortSignal): Promise<Raw[]> {
    if (!this.view || performance.now() - this.view.at > READ_TTL_MS) {
      const read = (async () => {
        const [url] = await this.nodeUrls();
        const document = await readDocument(this.client(url as string), signal);
        const view = new Map<EntityKind, Raw[]>();
        for (const k of entityKinds)
          view.set(
            k,
            asRows(document[SECTION[k]]).map((row) => fromDeclarative(k, row)),
          );
        return view;
      })();
      this.view = { at: performance.now(), rows: read };
      read.catch(() => {
        this.view = undefined;
      });
    }
    return (await this.view.rows).get(kind) ?? [];
  }

  private async idOf(kind: EntityKind, key: string): Promise<string | undefined> {
    const field = ENDPOINT_KEY[kind];
    const row = (await this.rows(kind)).find((item) => item.id === key || (field && item[field] === key));
    return row ? String(row.id) : key;
  }

  private async nodeUrls(): Promise<string[]> {
    const urls = typeof this.options.nodes === 'function' ? await this.options.nodes() : this.options.nodes;
    if (urls.length === 0)
      throw new KongError('no DB-less Kong node to talk to (the node list is empty)', {
        method: 'GET',
        path: '/config',
      });
    return urls;
  }

  private client(url: string): KongHttp {
    let client = this.clients.get(url);
    if (!client) {
      client = new KongHttp({ ...this.options.http, url });
      this.clients.set(url, client);
    }
    return client;
  }
}

/** Puts replace by id; a removal takes the entity's plugins, credentials and targets along, as Kong cascades. */
function applyOps(owned: Map<EntityKind, Map<string, Raw>>, ops: Op[]): Map<EntityKind, Map<string, Raw>> {
  for (const op of ops) {
    const table = owned.get(op.kind) as Map<string, Raw>;
    if ('put' in op) {
      table.set(String(op.put.id), op.put);
      continue;
    }
    table.delete(op.remove);
    for (const child of entityKinds)
      for (const [id, row] of owned.get(child) ?? [])
        if ((FOREIGN_FIELDS[child] ?? []).some((field) => (row[field] as Raw | null)?.id === op.remove))
          owned.get(child)?.delete(id);
  }
  return owned;
}

const EMPTY_HASH = '0'.repeat(32);

async function statusHash(client: KongHttp): Promise<string> {
  const { body } = await client.request('GET', '/status');
  const hash = (body as { configuration_hash?: unknown } | undefined)?.configuration_hash;
  if (typeof hash !== 'string')
    throw new KongError('GET /status has no configuration_hash: this Kong does not run DB-less', {
      method: 'GET',
      path: '/status',
    });
  return hash;
}

async function readDocument(client: KongHttp, signal?: AbortSignal): Promise<Document> {
  const { body } = await client.request('GET', '/config', { signal });
  const text = (body as { config?: unknown } | undefined)?.config;
  // Kong exports its configuration as YAML only (lyaml). Imported on first use: only DB-less runs the parser's setup.
  const { parseYaml } = await import('./yaml.js');
  const document = typeof text === 'string' ? parseYaml(text) : undefined;
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    throw new KongError('GET /config did not answer a declarative configuration', { method: 'GET', path: '/config' });
  return document as Document;
}

const asRows = (value: unknown): Raw[] =>
  Array.isArray(value) ? value.filter((row): row is Raw => typeof row === 'object' && row !== null) : [];

/** Exported rows carry foreign keys as id strings; the entity schemas want `{id}`. */
function fromDeclarative(kind: EntityKind, row: Raw): Raw {
  const out = { ...row };
  for (const field of FOREIGN_FIELDS[kind] ?? []) if (typeof out[field] === 'string') out[field] = { id: out[field] };
  return out;
}

/** At the top level of a declarative file a foreign key is a string (the id). */
function toDeclarative(kind: EntityKind, row: Raw): Raw {
  const out = { ...row };
  for (const field of FOREIGN_FIELDS[kind] ?? []) {
    const value = out[field] as Raw | null | undefined;
    if (value && typeof value.id === 'string') out[field] = value.id;
  }
  return out;
}

/** Order-insensitive comparison of two documents, timestamps ignored. */
function canonical(document: Document): string {
  return JSON.stringify(document, (key, value) => {
    if (key === 'created_at' || key === 'updated_at') return undefined;
    if (value && typeof value === 'object' && !Array.isArray(value))
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, (value as Raw)[k]]),
      );
    return value;
  });
}

function describeFailure(error: unknown): string {
  if (error instanceof KongError && error.code === 14 && Array.isArray(error.fields)) {
    const refused = (
      error.fields as {
        entity_type?: string;
        entity_name?: string;
        entity_id?: string;
        errors?: { field?: string; message?: string }[];
      }[]
    )
      .map((entry) => {
        const what = `${entry.entity_type} '${entry.entity_name ?? entry.entity_id ?? '?'}'`;
        const why = (entry.errors ?? [])
          .map((item) => (item.field ? `${item.field}: ${item.message}` : item.message))
          .join(', ');
        return `${what}: ${why}`;
      })
      .join('; ');
    return `refused ${refused}`;
  }
  return error instanceof Error ? error.message : String(error);
}
