import type { SecretsManagerCalls } from '../aws/secrets-manager.js';
import type { KeyAlgorithm } from '../consumers/keys.js';
import type { AuditPublisher } from '../events/audit.js';
import type { KongApi } from '../kong/api.js';
import type { StateStore } from '../state/store.js';

/** Structured logging as rotation needs it (Powertools' Logger fits). Attributes never carry key material. */
export interface RotationLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export const silentLogger: RotationLogger = { info() {}, warn() {}, error() {} };

/** What the rotation steps work with; the function wires it from configuration. */
export interface RotationDeps {
  secretsManager: SecretsManagerCalls;
  kong: KongApi;
  /** MESHGATE_INSTANCE: ownership tags and entity IDs. */
  instance: string;
  /** JWT_ALGORITHM: the algorithm of new keys. */
  alg: KeyAlgorithm;
  /** KEY_GRACE_PERIOD in ms: how long AWSPREVIOUS's credential outlives its replacement. */
  graceMs: number;
  /** The state store: its lease serializes the steps that write Kong with every other Kong writer. */
  store: StateStore;
  /** Asks for a full sync (a sync that found the lease held by a step marked "pending"). */
  requestSync?: (reason: string) => Promise<void>;
  /** Lease wait and TTL (tests shorten them). */
  lease?: { waitMs?: number; ttlMs?: number; pollMs?: number; requestBudgetMs?: number };
  /** CONSUMER_SECRET_PREFIX: the daily job starts rotations of these secrets only. */
  secretPrefix?: string;
  audit?: AuditPublisher;
  logger?: RotationLogger;
  now?: () => Date;
}
