import { mapLimit } from '../concurrency.js';
import { errorMessage } from '../errors.js';
import type { KongState } from '../kong/entities.js';
import {
  emptyPublicKeyDocument,
  encodePublicKeys,
  PUBLIC_KEYS_OBJECT,
  type PublicKeyDocument,
  PublicKeyDocumentSchema,
} from './public-keys.js';
import {
  countEntities,
  FreezeSchema,
  type FreezeState,
  type HeldLease,
  isRecordId,
  type KeyState,
  KeyStateSchema,
  type LeaseGrant,
  type LeaseRecord,
  LeaseRecordSchema,
  type LeaseRelease,
  newRecordId,
  type RunRecord,
  RunRecordSchema,
  type RunSummary,
  type SaveMeta,
  type Snapshot,
  SnapshotError,
  SnapshotFileSchema,
  type SnapshotMeta,
  type StateStore,
} from './store.js';

/** What is written: JSON text, or its UTF-8 bytes when the writer built them (the public-key document). */
export type ObjectBody = string | Buffer;

/** The few object operations a state store needs; S3 and a local directory both provide them. */
export interface ObjectBackend {
  /** Where objects live, for error messages (`s3://bucket`, a directory path). */
  readonly location: string;
  read(key: string): Promise<string | undefined>;
  write(key: string, body: ObjectBody): Promise<void>;
  remove(key: string): Promise<void>;
  /** Keys under a prefix, in ascending lexicographic order. */
  keys(prefix: string): Promise<string[]>;
  /** An object with its ETag (the version token the conditional writes below compare against). */
  readVersioned(key: string): Promise<{ body: string; etag: string } | undefined>;
  /** Writes only if the key does not exist (S3 `If-None-Match: *`); the new ETag, or undefined when it exists. */
  createIfAbsent(key: string, body: ObjectBody): Promise<string | undefined>;
  /** Replaces only the version `etag` names (S3 `If-Match`); the new ETag, or undefined when it changed or is gone. */
  replaceIfMatch(key: string, body: ObjectBody, etag: string): Promise<string | undefined>;
  /** Deletes only the version `etag` names; false when it changed or is gone. */
  removeIfMatch(key: string, etag: string): Promise<boolean>;
}

const DEFAULT_LIST_LIMIT = 50;

/**
 * How many snapshots and run records a store keeps; older ones are removed as new ones are written (in batches: a
 * folder may hold a tenth more before it is pruned), so listing stays short (the drift-repair schedule alone records
 * a run every 5 minutes). On S3 a removed snapshot stays
 * recoverable as a noncurrent version for the bucket's lifecycle period (30 days in serverless.yml).
 */
export interface Retention {
  snapshots: number;
  runs: number;
}

export const DEFAULT_RETENTION: Retention = { snapshots: 200, runs: 1000 };
const PRUNE_CONCURRENCY = 8;

/** Records a folder may hold beyond its retention before it is listed and pruned: a tenth, at least one. */
function pruneSlack(keep: number): number {
  return Math.max(1, Math.ceil(keep / 10));
}

/** The state store over any object backend, with keys `<instance>/snapshots/<id>.json`, `freeze.json`, `runs/<id>.json`. */
export class BackedStateStore implements StateStore {
  /**
   * The last version of each document this store read or wrote, parsed, with its ETag. The public-key document grows
   * with the consumers (≈ 1 KB each) and the key state with their promotions, and every rotation step reads both, so
   * an unchanged ETag skips parsing and validating again. Callers treat them as immutable (a change builds new ones).
   */
  private readonly parsed = new Map<string, { etag: string; value: unknown }>();
  /** The JSON bytes of the document's entries and keys, by object (see encodePublicKeys). */
  private readonly publicKeyBytes = new WeakMap<object, Buffer>();
  /** Holders of the runs this store started and has not finished: finishing one needs no read. */
  private readonly runHolders = new Map<string, string | undefined>();
  /** Records in each folder as of this store's last listing, plus those it added since (see `prune`). */
  private readonly recordCounts: Partial<Record<'snapshots' | 'runs', number>> = {};

  constructor(
    private readonly backend: ObjectBackend,
    readonly instance: string,
    private readonly retention: Retention = DEFAULT_RETENTION,
  ) {}

  private key(...parts: string[]): string {
    return [this.instance, ...parts].join('/');
  }

  async save(state: KongState, meta: SaveMeta): Promise<string> {
    const now = new Date();
    const id = newRecordId(now);
    const snapshotMeta: SnapshotMeta = {
      id,
      createdAt: now.toISOString(),
      instance: this.instance,
      ...meta,
      counts: countEntities(state),
    };
    await this.put(this.key('snapshots', `${id}.json`), { meta: snapshotMeta, state });
    await this.prune('snapshots', this.retention.snapshots);
    return id;
  }

  async load(id: string): Promise<Snapshot> {
    if (id === 'previous') return this.previousFull();
    const resolved = id;
    if (!isRecordId(resolved)) throw new SnapshotError(`'${resolved}' is not a snapshot id`, { context: { id } });
    const file = await this.get(this.key('snapshots', `${resolved}.json`));
    if (file === undefined) {
      throw new SnapshotError(`snapshot '${resolved}' not found in ${this.backend.location}`, {
        context: { id: resolved, instance: this.instance },
      });
    }
    return this.parse(SnapshotFileSchema, file, resolved) as Snapshot;
  }

  /**
   * `previous`: the newest full snapshot, i.e. the state before the last full apply. A scoped snapshot (one
   * upstream's targets, saved by a Cloud Map registration) is never it: restoring it would undo an unrelated
   * registration and leave the bad full change live.
   */
  private async previousFull(): Promise<Snapshot> {
    for (const id of (await this.ids('snapshots')).reverse()) {
      const snapshot = await this.load(id);
      if (!snapshot.meta.scope) return snapshot;
    }
    throw new SnapshotError(`no full snapshot saved yet for instance '${this.instance}'`);
  }

  async list(limit = DEFAULT_LIST_LIMIT): Promise<SnapshotMeta[]> {
    const newest = (await this.ids('snapshots')).reverse().slice(0, limit);
    return Promise.all(newest.map(async (id) => (await this.load(id)).meta));
  }

  async getFreeze(): Promise<FreezeState | undefined> {
    const file = await this.get(this.key('freeze.json'));
    return file === undefined ? undefined : this.parse(FreezeSchema, file, 'freeze');
  }

  async setFreeze(freeze: { reason: string; by: string }): Promise<FreezeState> {
    const state: FreezeState = { frozen: true, ...freeze, since: new Date().toISOString() };
    await this.put(this.key('freeze.json'), state);
    return state;
  }

  async clearFreeze(): Promise<void> {
    await this.attempt('clear the freeze flag', () => this.backend.remove(this.key('freeze.json')));
  }

  async recordRun(summary: RunSummary): Promise<string> {
    const id = newRecordId();
    await this.put(this.key('runs', `${id}.json`), { id, ...summary });
    await this.prune('runs', this.retention.runs);
    return id;
  }

  async startRun(run: Pick<RunSummary, 'kind' | 'trigger'> & { holder?: string }): Promise<string> {
    const now = new Date();
    const id = newRecordId(now);
    await this.put(this.key('runs', `${id}.json`), {
      id,
      ...run,
      outcome: 'running',
      startedAt: now.toISOString(),
      durationMs: 0,
    });
    await this.prune('runs', this.retention.runs);
    this.runHolders.set(id, run.holder);
    return id;
  }

  async finishRun(id: string, summary: RunSummary): Promise<void> {
    if (!isRecordId(id)) throw new SnapshotError(`'${id}' is not a run id`);
    const holder = this.runHolders.has(id) ? this.runHolders.get(id) : await this.startedHolder(id);
    this.runHolders.delete(id);
    await this.put(this.key('runs', `${id}.json`), { id, ...(holder ? { holder } : {}), ...summary });
  }

  /** The holder a run started by another process recorded. */
  private async startedHolder(id: string): Promise<string | undefined> {
    const started = await this.get(this.key('runs', `${id}.json`));
    return started === undefined ? undefined : (JSON.parse(started) as { holder?: string }).holder;
  }

  async listRuns(limit: number): Promise<RunRecord[]> {
    const newest = (await this.ids('runs')).reverse().slice(0, limit);
    const [runs, lease] = await Promise.all([
      Promise.all(newest.map((id) => this.get(this.key('runs', `${id}.json`)))),
      this.readLease(),
    ]);
    const live = lease && Date.parse(lease.expiresAt) > Date.now() ? lease.holder : undefined;
    return runs.flatMap((file, index) => {
      if (file === undefined) return [];
      const run = this.parse(RunRecordSchema, file, newest[index]!) as RunRecord;
      // A run still marked running whose holder no longer holds the lease died before it could say how it ended.
      if (run.outcome === 'running' && run.holder !== undefined && run.holder !== live) {
        return [{ ...run, outcome: 'interrupted' }];
      }
      return [run];
    });
  }

  async readLease(): Promise<LeaseRecord | undefined> {
    const stored = await this.attempt('read the lease', () => this.backend.readVersioned(this.key('lease.json')));
    return stored ? this.parse(LeaseRecordSchema, stored.body, 'lease') : undefined;
  }

  async tryAcquireLease(request: { holder: string; purpose: string; ttlMs: number }): Promise<LeaseGrant> {
    const key = this.key('lease.json');
    const now = Date.now();
    const record: LeaseRecord = {
      holder: request.holder,
      purpose: request.purpose,
      acquiredAt: new Date(now).toISOString(),
      expiresAt: new Date(now + request.ttlMs).toISOString(),
      pending: false,
    };
    const body = JSON.stringify(record);
    const stored = await this.attempt('read the lease', () => this.backend.readVersioned(key));
    if (!stored) {
      const etag = await this.attempt('take the lease', () => this.backend.createIfAbsent(key, body));
      return etag === undefined ? this.busy() : { acquired: true, lease: { record, etag } };
    }
    const current = this.parse(LeaseRecordSchema, stored.body, 'lease');
    if (Date.parse(current.expiresAt) > now) return { acquired: false, current };
    // Expired: its holder died or stalled. Taking it over by ETag means two takers cannot both win; a "pending"
    // mark left on it carries over, so the new holder runs the sync someone asked for.
    const takeover: LeaseRecord = { ...record, pending: current.pending };
    const etag = await this.attempt('take over the expired lease', () =>
      this.backend.replaceIfMatch(key, JSON.stringify(takeover), stored.etag),
    );
    return etag === undefined ? this.busy() : { acquired: true, lease: { record: takeover, etag } };
  }

  private async busy(): Promise<LeaseGrant> {
    const current = await this.readLease();
    // Released between our write and this read: report it as held by nobody in particular; the caller retries.
    return {
      acquired: false,
      current: current ?? {
        holder: '(released)',
        purpose: '',
        acquiredAt: new Date(0).toISOString(),
        expiresAt: new Date(0).toISOString(),
        pending: false,
      },
    };
  }

  async renewLease(lease: HeldLease, ttlMs: number): Promise<HeldLease | undefined> {
    const key = this.key('lease.json');
    // First by the ETag this holder last wrote: one request while nobody marked the lease in between.
    const renewed: LeaseRecord = { ...lease.record, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
    const direct = await this.attempt('renew the lease', () =>
      this.backend.replaceIfMatch(key, JSON.stringify(renewed), lease.etag),
    );
    if (direct !== undefined) return { record: renewed, etag: direct };
    for (;;) {
      const stored = await this.attempt('read the lease', () => this.backend.readVersioned(key));
      if (!stored) return undefined;
      const current = this.parse(LeaseRecordSchema, stored.body, 'lease');
      if (current.holder !== lease.record.holder) return undefined;
      const record: LeaseRecord = { ...current, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
      const etag = await this.attempt('renew the lease', () =>
        this.backend.replaceIfMatch(key, JSON.stringify(record), stored.etag),
      );
      // Lost a race with a "pending" mark: read again and renew that version.
      if (etag !== undefined) return { record, etag };
    }
  }

  async markLeasePending(): Promise<boolean> {
    const key = this.key('lease.json');
    for (;;) {
      const stored = await this.attempt('read the lease', () => this.backend.readVersioned(key));
      if (!stored) return false;
      const current = this.parse(LeaseRecordSchema, stored.body, 'lease');
      if (Date.parse(current.expiresAt) <= Date.now()) return false;
      if (current.pending) return true;
      const etag = await this.attempt('mark the lease pending', () =>
        this.backend.replaceIfMatch(key, JSON.stringify({ ...current, pending: true }), stored.etag),
      );
      if (etag !== undefined) return true;
    }
  }

  async releaseLease(lease: HeldLease, ttlMs: number): Promise<LeaseRelease> {
    const key = this.key('lease.json');
    // The version this holder last wrote carries no "pending" mark: if it is still the stored one, delete it by ETag
    // in one request; otherwise (marked, or taken over) read what changed.
    if (!lease.record.pending) {
      const removed = await this.attempt('release the lease', () => this.backend.removeIfMatch(key, lease.etag));
      if (removed) return { released: true };
    }
    for (;;) {
      const stored = await this.attempt('read the lease', () => this.backend.readVersioned(key));
      if (!stored) return { lost: true };
      const current = this.parse(LeaseRecordSchema, stored.body, 'lease');
      if (current.holder !== lease.record.holder) return { lost: true };
      if (current.pending) {
        // Someone asked for a sync while we held it: keep the lease, clear the mark, and let the caller run it.
        const record: LeaseRecord = {
          ...current,
          pending: false,
          expiresAt: new Date(Date.now() + ttlMs).toISOString(),
        };
        const etag = await this.attempt('clear the pending mark', () =>
          this.backend.replaceIfMatch(key, JSON.stringify(record), stored.etag),
        );
        if (etag !== undefined) return { pending: true, lease: { record, etag } };
        continue;
      }
      const removed = await this.attempt('release the lease', () => this.backend.removeIfMatch(key, stored.etag));
      if (removed) return { released: true };
    }
  }

  async readKeyState(): Promise<KeyState> {
    const key = this.key('keys.json');
    const stored = await this.attempt('read the key state', () => this.backend.readVersioned(key));
    return stored ? this.parseVersioned(key, KeyStateSchema, stored, 'keys') : { promotions: {}, rollbacks: {} };
  }

  async updateKeyState(change: (state: KeyState) => KeyState): Promise<KeyState> {
    const key = this.key('keys.json');
    for (;;) {
      const stored = await this.attempt('read the key state', () => this.backend.readVersioned(key));
      const next = change(
        stored ? this.parseVersioned(key, KeyStateSchema, stored, 'keys') : { promotions: {}, rollbacks: {} },
      );
      const body = JSON.stringify(next);
      const etag = await this.attempt('write the key state', () =>
        stored ? this.backend.replaceIfMatch(key, body, stored.etag) : this.backend.createIfAbsent(key, body),
      );
      if (etag !== undefined) {
        this.parsed.set(key, { etag, value: next });
        return next;
      }
    }
  }

  async readPublicKeys(): Promise<PublicKeyDocument | undefined> {
    return (await this.readPublicKeysVersioned())?.document;
  }

  async updatePublicKeys(change: (document: PublicKeyDocument) => PublicKeyDocument): Promise<PublicKeyDocument> {
    const key = this.key(PUBLIC_KEYS_OBJECT);
    for (;;) {
      const stored = await this.readPublicKeysVersioned();
      const current = stored?.document ?? emptyPublicKeyDocument(this.instance);
      const next = change(current);
      // Nothing to publish: no write, so a publisher that repeats what is there costs one read.
      if (stored && next === current) return current;
      const body = encodePublicKeys(next, this.publicKeyBytes);
      const etag = await this.attempt('write the public keys', () =>
        stored ? this.backend.replaceIfMatch(key, body, stored.etag) : this.backend.createIfAbsent(key, body),
      );
      if (etag !== undefined) {
        this.parsed.set(key, { etag, value: next });
        return next;
      }
    }
  }

  /** The public-key document with its ETag. */
  private async readPublicKeysVersioned(): Promise<{ document: PublicKeyDocument; etag: string } | undefined> {
    const key = this.key(PUBLIC_KEYS_OBJECT);
    const stored = await this.attempt('read the public keys', () => this.backend.readVersioned(key));
    if (!stored) return undefined;
    return { document: this.parseVersioned(key, PublicKeyDocumentSchema, stored, 'jwks'), etag: stored.etag };
  }

  /** A document read with its ETag, parsed, or as parsed before when the ETag is the one this store last saw. */
  private parseVersioned<T>(
    key: string,
    schema: { parse(input: unknown): T },
    stored: { body: string; etag: string },
    what: string,
  ): T {
    const known = this.parsed.get(key);
    if (stored.etag !== '' && known?.etag === stored.etag) return known.value as T;
    const value = this.parse(schema, stored.body, what);
    this.parsed.set(key, { etag: stored.etag, value });
    return value;
  }

  /**
   * Called after a record was added: removes the oldest records of a folder beyond `keep`. The folder is listed only
   * once it may hold more than `keep` plus a tenth (pruneSlack): after a listing this store counts what it adds, so a
   * store at its retention lists once per tenth of it (on S3 a ListObjectsV2 of over 1,000 keys is two requests)
   * instead of at every record. Records other processes add meanwhile stay until a listing sees them: the folder may
   * hold more than `keep` for a while.
   */
  private async prune(folder: 'snapshots' | 'runs', keep: number): Promise<void> {
    const known = this.recordCounts[folder];
    if (known !== undefined && known + 1 <= keep + pruneSlack(keep)) {
      this.recordCounts[folder] = known + 1;
      return;
    }
    const ids = await this.ids(folder);
    const expired = ids.slice(0, Math.max(0, ids.length - keep));
    await mapLimit(expired, PRUNE_CONCURRENCY, (id) =>
      this.attempt(`remove ${folder}/${id}`, () => this.backend.remove(this.key(folder, `${id}.json`))),
    );
    this.recordCounts[folder] = ids.length - expired.length;
  }

  /** Record ids under a folder, oldest first (ids sort by time). */
  private async ids(folder: 'snapshots' | 'runs'): Promise<string[]> {
    const prefix = this.key(folder, '');
    const keys = await this.attempt(`list ${folder}`, () => this.backend.keys(prefix));
    return keys
      .map((key) => key.slice(prefix.length).replace(/\.json$/, ''))
      .filter(isRecordId)
      .sort();
  }

  private get(key: string): Promise<string | undefined> {
    return this.attempt(`read ${key}`, () => this.backend.read(key));
  }

  private put(key: string, value: unknown): Promise<void> {
    return this.attempt(`write ${key}`, () => this.backend.write(key, JSON.stringify(value)));
  }

  private parse<T>(schema: { parse(input: unknown): T }, body: string, what: string): T {
    try {
      return schema.parse(JSON.parse(body));
    } catch (error) {
      throw new SnapshotError(`stored record '${what}' is not valid: ${errorMessage(error)}`, {
        cause: error,
        context: { record: what, location: this.backend.location },
      });
    }
  }

  private async attempt<T>(action: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof SnapshotError) throw error;
      throw new SnapshotError(`could not ${action} in ${this.backend.location}: ${errorMessage(error)}`, {
        cause: error,
        context: { action, location: this.backend.location, instance: this.instance },
      });
    }
  }
}
