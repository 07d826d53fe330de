import { errorMessage, MeshgateError } from '../errors.js';
import type { ReadFailure } from './model.js';

/**
 * A mesh source could not read something. When `unreachable`, the service gave no answer at all (connection refused,
 * DNS, timeout, missing credentials) and the run fails; otherwise the error concerns one object (5xx or throttling
 * after the client's retries, access denied to it) and becomes a ReadFailure for it while the read goes on: that
 * object keeps what it had in Kong, the rest of the mesh syncs.
 */
export class SourceError extends MeshgateError {
  get unreachable(): boolean {
    return this.context.unreachable === true;
  }
}

interface AwsErrorFields {
  code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

function httpStatus(error: unknown): number | undefined {
  return (error as AwsErrorFields | undefined)?.$metadata?.httpStatusCode;
}

/**
 * Whether an SDK error means the service cannot be used at all: no HTTP status means no answer. Anything with an
 * answer (5xx or throttling after the retries, 401/403) concerns the object read: it is recorded against that
 * object, which keeps what it had in Kong, instead of failing every other object's sync with it. A listing that
 * stands for many objects (a mesh, a namespace) keeps all of them.
 */
function isServiceUnusable(error: unknown): boolean {
  return httpStatus(error) === undefined;
}

function describeAwsError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = httpStatus(error);
  const code = (error as AwsErrorFields).code;
  const name = error.name === 'Error' && code ? code : error.name;
  return `${name}${status === undefined ? '' : ` (HTTP ${status})`}: ${error.message}`;
}

/**
 * Runs one AWS call of a source. `call` names the operation and the object (e.g. `App Mesh DescribeVirtualGateway
 * mesh/m/virtualGateway/g`); any failure comes back as a SourceError saying which call failed and why. An aborted
 * read throws the abort reason as is, at once, even when `request` was not given the signal: it is no fault of the
 * service.
 */
export async function readAws<T>(call: string, request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  signal?.throwIfAborted();
  try {
    return await (signal ? untilAborted(request(), signal) : request());
  } catch (error) {
    signal?.throwIfAborted();
    if (error instanceof SourceError) {
      throw new SourceError(`${call} failed: ${error.message}`, { cause: error, context: { ...error.context, call } });
    }
    const unreachable = isServiceUnusable(error);
    const suffix = unreachable ? ' (the service cannot be used; the read stops)' : '';
    throw new SourceError(`${call} failed: ${describeAwsError(error)}${suffix}`, {
      cause: error,
      context: {
        call,
        code: error instanceof Error ? error.name : undefined,
        status: httpStatus(error),
        attempts: (error as AwsErrorFields | undefined)?.$metadata?.attempts,
        unreachable,
      },
    });
  }
}

/** `pending`, or the signal's reason as soon as it aborts (the request then runs on, unobserved). */
function untilAborted<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The failures of one read of one source. An object's read that fails is recorded against the object and the read
 * goes on, except when the service cannot be used or the read was aborted: then the whole read fails.
 */
export class ReadFailures {
  readonly failures: ReadFailure[] = [];

  constructor(
    private readonly source: string,
    private readonly signal?: AbortSignal,
  ) {}

  record(object: string, problem: unknown): void {
    if (problem instanceof SourceError && problem.unreachable) throw problem;
    if (this.signal?.aborted) throw this.signal.reason;
    this.failures.push({ source: this.source, object, reason: errorMessage(problem) });
  }

  /** An object a successful read confirmed absent (e.g. a configured namespace that does not exist): not kept. */
  recordAbsent(object: string, reason: string): void {
    this.failures.push({ source: this.source, object, reason, absent: true });
  }

  /** Reads one object; on failure records it and returns undefined. */
  async attempt<T>(object: string, read: () => Promise<T | undefined>): Promise<T | undefined> {
    try {
      return await read();
    } catch (error) {
      this.record(object, error);
      return undefined;
    }
  }
}
