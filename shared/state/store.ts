import { randomBytes } from 'node:crypto';
import { MeshgateError } from '../errors.js';
import { entityKinds, type KongState } from '../kong/entities.js';
import * as z from '../zod.js';
import type { PublicKeyDocument } from './public-keys.js';

/** A snapshot, the freeze flag or run history could not be read or written. */
export class SnapshotError extends MeshgateError {}

export interface SnapshotMeta {
  id: string;
  createdAt: string;
  instance: string;
  /** What caused the sync that saved it, e.g. `schedule`, `cloudmap:RegisterInstance`, `rollback`. */
  trigger: string;
  reason?: string;
  /** Set when the snapshot holds only part of the state (a scoped sync); restore it with the same scope. */
  scope?: { upstreams: string[]; objects?: string[] };
  /** Entities per kind, e.g. `{ services: 3, routes: 3, ... }`. */
  counts: Record<string, number>;
}

export interface Snapshot {
  meta: SnapshotMeta;
  state: KongState;
}

export interface SaveMeta {
  trigger: string;
  reason?: string;
  scope?: { upstreams: string[]; objects?: string[] };
}

export interface FreezeState {
  frozen: true;
  reason: string;
  by: string;
  since: string;
}

/** One run of a meshgate function, as `meshgate status` shows it. */
export interface RunSummary {
  /** `sync`, `rotation`, `rollback`, ... */
  kind: string;
  trigger: string;
  /**
   * How it ended (`applied`, `no-changes`, `rolled-back`, `failed`, `deferred`, ...); `running` while it runs, and
   * `interrupted` when listed after its process died (still `running` but no longer holding the lease).
   */
  outcome: string;
  startedAt: string;
  durationMs: number;
  counts?: Record<string, number>;
  snapshotId?: string;
  errors?: string[];
}

export interface RunRecord extends RunSummary {
  id: string;
  /** The lease holder name the run used, so a `running` record can be told from an interrupted one. */
  holder?: string;
}

/**
 * The state-store lease every Kong writer holds from the moment it reads what it will compare until its apply (and
 * restore) ends. `pending` is set by a writer that could not get it in time: the holder runs a sync before letting go.
 */
export const LeaseRecordSchema = z.object({
  holder: z.string(),
  purpose: z.string(),
  acquiredAt: z.string(),
  expiresAt: z.string(),
  pending: z._default(z.boolean(), false),
});
export type LeaseRecord = z.infer<typeof LeaseRecordSchema>;

/** A lease this process holds: the record as written and the ETag that proves it is still ours. */
export interface HeldLease {
  record: LeaseRecord;
  etag: string;
}

export type LeaseGrant = { acquired: true; lease: HeldLease } | { acquired: false; current: LeaseRecord };

/** What a release found: `pending` (lease kept, flag cleared: run once more and release again), or `lost`. */
export type LeaseRelease = { released: true } | { pending: true; lease: HeldLease } | { lost: true };

/** The intent of a key rollback, recorded before anything changes so a re-run finishes it instead of choosing anew. */
export const KeyRollbackIntentSchema = z.object({
  consumer: z.string(),
  secretArn: z.string(),
  restoreVersionId: z.string(),
  restoreKid: z.string(),
  revokeVersionId: z.string(),
  revokeKid: z.string(),
  by: z.string(),
  recordedAt: z.string(),
});
export type KeyRollbackIntent = z.infer<typeof KeyRollbackIntentSchema>;

/** When a key version became AWSCURRENT: the demoted key's grace period counts from here, not from its creation. */
export const KeyPromotionSchema = z.object({
  consumer: z.string(),
  versionId: z.string(),
  kid: z.string(),
  promotedAt: z.string(),
});
export type KeyPromotion = z.infer<typeof KeyPromotionSchema>;

export const KeyStateSchema = z.object({
  promotions: z._default(z.record(z.string(), KeyPromotionSchema), {}),
  rollbacks: z._default(z.record(z.string(), KeyRollbackIntentSchema), {}),
});
export type KeyState = z.infer<typeof KeyStateSchema>;

/**
 * Where meshgate keeps its own state, per instance: snapshots of the managed Kong state taken before each apply,
 * the freeze flag, and run history. Snapshots hold Kong entities only: JWT credentials carry public keys, and their
 * `secret` field is a placeholder Kong requires but never checks for asymmetric algorithms.
 */
export interface StateStore {
  readonly instance: string;
  save(state: KongState, meta: SaveMeta): Promise<string>;
  /** A snapshot by id, or the newest one for `previous`. */
  load(id: string): Promise<Snapshot>;
  /** Snapshots newest first (at most `limit`, default 50). */
  list(limit?: number): Promise<SnapshotMeta[]>;
  getFreeze(): Promise<FreezeState | undefined>;
  setFreeze(freeze: { reason: string; by: string }): Promise<FreezeState>;
  clearFreeze(): Promise<void>;
  recordRun(summary: RunSummary): Promise<string>;
  /** Records a run as `running` when it starts; `finishRun` overwrites it with how it ended. */
  startRun(run: Pick<RunSummary, 'kind' | 'trigger'> & { holder?: string }): Promise<string>;
  finishRun(id: string, summary: RunSummary): Promise<void>;
  /** Runs newest first; a `running` run whose holder no longer holds the lease is listed as `interrupted`. */
  listRuns(limit: number): Promise<RunRecord[]>;
  /** Takes the lease if it is free or expired (conditional write); otherwise says who holds it. */
  tryAcquireLease(request: { holder: string; purpose: string; ttlMs: number }): Promise<LeaseGrant>;
  /** Extends a held lease; undefined when it was lost (expired and taken over). */
  renewLease(lease: HeldLease, ttlMs: number): Promise<HeldLease | undefined>;
  /** Marks the live lease "pending"; false when there is no live lease (the caller should try to take it). */
  markLeasePending(): Promise<boolean>;
  releaseLease(lease: HeldLease, ttlMs: number): Promise<LeaseRelease>;
  /** The lease as stored now, if any (expired or not). */
  readLease(): Promise<LeaseRecord | undefined>;
  /** Key promotions and key-rollback intents of every consumer: one small document, read once per sync. */
  readKeyState(): Promise<KeyState>;
  /** Read-modify-write of the key state with a conditional write (a lost race re-reads and re-applies `change`). */
  updateKeyState(change: (state: KeyState) => KeyState): Promise<KeyState>;
  /** The public-key document (consumers' public keys and the JWKS), or undefined before anything published it. */
  readPublicKeys(): Promise<PublicKeyDocument | undefined>;
  /** Read-modify-write of the public-key document with a conditional write (a lost race re-reads and re-applies). */
  updatePublicKeys(change: (document: PublicKeyDocument) => PublicKeyDocument): Promise<PublicKeyDocument>;
}

/** Sortable id: UTC time to the millisecond, then 6 random hex digits, e.g. `20261128T051922.123Z-3f9a1c`. */
export function newRecordId(now = new Date()): string {
  const time = now.toISOString().replace(/[-:]/g, '');
  return `${time}-${randomBytes(3).toString('hex')}`;
}

const RECORD_ID = /^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}$/;

export function isRecordId(value: string): boolean {
  return RECORD_ID.test(value);
}

export function countEntities(state: KongState): Record<string, number> {
  return Object.fromEntries(entityKinds.map((kind) => [`${kind}s`, state[`${kind}s`].length]));
}

const SnapshotMetaSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  instance: z.string(),
  trigger: z.string(),
  reason: z.optional(z.string()),
  scope: z.optional(z.object({ upstreams: z.array(z.string()), objects: z.optional(z.array(z.string())) })),
  counts: z.record(z.string(), z.number()),
});

const entityList = z._default(z.array(z.looseObject({ id: z.string() })), []);

export const SnapshotFileSchema = z.object({
  meta: SnapshotMetaSchema,
  state: z.object(Object.fromEntries(entityKinds.map((kind) => [`${kind}s`, entityList]))),
});

export const FreezeSchema = z.object({
  frozen: z.literal(true),
  reason: z.string(),
  by: z.string(),
  since: z.string(),
});

export const RunRecordSchema = z.looseObject({
  id: z.string(),
  holder: z.optional(z.string()),
  kind: z.string(),
  trigger: z.string(),
  outcome: z.string(),
  startedAt: z.string(),
  durationMs: z.number(),
});
