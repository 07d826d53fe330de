import { MeshgateError } from '../errors.js';

/** What a KongError knows about the failed exchange. */
export interface KongErrorDetails {
  method: string;
  path: string;
  /** HTTP status of the last response; absent when no response arrived (connection error, timeout, abort). */
  status?: number;
  /** Kong's DAO error code (2 schema violation, 4 foreign key, 5 unique, ...; reference §2). */
  code?: number;
  /** Kong's error `name`, e.g. "unique constraint violation". */
  kongName?: string;
  /** Kong's `fields` (or `options` for code 11): which field failed and why. */
  fields?: unknown;
  /** True when the failure was of a retryable class (429, 5xx, connection) and retries ran out. */
  retryable?: boolean;
  cause?: unknown;
}

/**
 * Any failure talking to the Kong Admin API: an error response, a body that is not JSON or not the expected shape,
 * a connection error, a timeout or an abort. Branch on `code` (Kong's) or `status`, not on the message text.
 */
export class KongError extends MeshgateError {
  readonly status?: number;
  readonly code?: number;
  readonly kongName?: string;
  readonly fields?: unknown;
  readonly method: string;
  readonly path: string;
  readonly retryable: boolean;

  constructor(message: string, details: KongErrorDetails) {
    const { cause, ...facts } = details;
    const retryable = facts.retryable ?? false;
    super(message, { cause, context: { ...facts, retryable } });
    this.status = facts.status;
    this.code = facts.code;
    this.kongName = facts.kongName;
    this.fields = facts.fields;
    this.method = facts.method;
    this.path = facts.path;
    this.retryable = retryable;
  }

  /** Kong answered 409 (code 5): the entity, or one with the same unique field, already exists. */
  get isConflict(): boolean {
    return this.status === 409 || this.code === 5;
  }

  /**
   * A create found its id or a unique field taken: 409 (code 5), or Kong's 400 primary key violation (code 3) for
   * an id that exists, e.g. a credential with that id under another consumer.
   */
  get isTaken(): boolean {
    return this.isConflict || this.code === 3;
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }
}
