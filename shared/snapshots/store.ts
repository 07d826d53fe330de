import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { MeshgateError } from '../errors.js';
import { entityKinds, type KongState } from '../kong/entities.js';

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
  scope?: { upstreams: string[] };
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
  scope?: { upstreams: string[] };
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
  outcome: string;
  startedAt: string;
  durationMs: number;
  counts?: Record<string, number>;
  snapshotId?: string;
  errors?: string[];
}

export interface RunRecord extends RunSummary {
  id: string;
}

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
  /** Runs newest first. */
  listRuns(limit: number): Promise<RunRecord[]>;
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
  reason: z.string().optional(),
  scope: z.object({ upstreams: z.array(z.string()) }).optional(),
  counts: z.record(z.string(), z.number()),
});

const entityList = z.array(z.looseObject({ id: z.string() })).default([]);

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
  kind: z.string(),
  trigger: z.string(),
  outcome: z.string(),
  startedAt: z.string(),
  durationMs: z.number(),
});
