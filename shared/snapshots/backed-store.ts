import { mapLimit } from '../concurrency.js';
import { errorMessage } from '../errors.js';
import type { KongState } from '../kong/entities.js';
import {
  countEntities,
  FreezeSchema,
  type FreezeState,
  isRecordId,
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

/** The few object operations a state store needs; S3 and a local directory both provide them. */
export interface ObjectBackend {
  /** Where objects live, for error messages (`s3://bucket`, a directory path). */
  readonly location: string;
  read(key: string): Promise<string | undefined>;
  write(key: string, body: string): Promise<void>;
  remove(key: string): Promise<void>;
  /** Keys under a prefix, in ascending lexicographic order. */
  keys(prefix: string): Promise<string[]>;
}

const DEFAULT_LIST_LIMIT = 50;

/**
 * How many snapshots and run records a store keeps; older ones are removed as new ones are written, so listing
 * stays one page (the drift-repair schedule alone records a run every 5 minutes). On S3 a removed snapshot stays
 * recoverable as a noncurrent version for the bucket's lifecycle period (30 days in serverless.yml).
 */
export interface Retention {
  snapshots: number;
  runs: number;
}

export const DEFAULT_RETENTION: Retention = { snapshots: 200, runs: 1000 };
const PRUNE_CONCURRENCY = 8;

/** The state store over any object backend, with keys `<instance>/snapshots/<id>.json`, `freeze.json`, `runs/<id>.json`. */
export class BackedStateStore implements StateStore {
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
    const resolved = id === 'previous' ? (await this.ids('snapshots')).at(-1) : id;
    if (!resolved) throw new SnapshotError(`no snapshot saved yet for instance '${this.instance}'`);
    if (!isRecordId(resolved)) throw new SnapshotError(`'${resolved}' is not a snapshot id`, { context: { id } });
    const file = await this.get(this.key('snapshots', `${resolved}.json`));
    if (file === undefined) {
      throw new SnapshotError(`snapshot '${resolved}' not found in ${this.backend.location}`, {
        context: { id: resolved, instance: this.instance },
      });
    }
    return this.parse(SnapshotFileSchema, file, resolved) as Snapshot;
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

  async listRuns(limit: number): Promise<RunRecord[]> {
    const newest = (await this.ids('runs')).reverse().slice(0, limit);
    const runs = await Promise.all(newest.map((id) => this.get(this.key('runs', `${id}.json`))));
    return runs.flatMap((file, index) =>
      file === undefined ? [] : [this.parse(RunRecordSchema, file, newest[index]!) as RunRecord],
    );
  }

  /** Removes the oldest records of a folder beyond `keep`. */
  private async prune(folder: 'snapshots' | 'runs', keep: number): Promise<void> {
    const ids = await this.ids(folder);
    const expired = ids.slice(0, Math.max(0, ids.length - keep));
    await mapLimit(expired, PRUNE_CONCURRENCY, (id) =>
      this.attempt(`remove ${folder}/${id}`, () => this.backend.remove(this.key(folder, `${id}.json`))),
    );
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
