import type { FinalizeRequestMiddleware, MiddlewareStack } from '@smithy/types';
import { errorMessage, MeshgateError } from '../errors.js';
import type { ReadFailure } from './model.js';

/**
 * A mesh source could not read something. When `unreachable`, the service itself cannot be used (no answer, 5xx or
 * throttling after the SDK's retries, credentials refused) and the run fails; otherwise the error concerns one object
 * and becomes a ReadFailure for it while the read goes on.
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

/** Codes the SDK retries as throttling; still failing after the retries means the service will not serve this run. */
const THROTTLING_CODES = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
]);

function httpStatus(error: unknown): number | undefined {
  return (error as AwsErrorFields | undefined)?.$metadata?.httpStatusCode;
}

/**
 * Whether an SDK error means the service cannot be used at all. No HTTP status means no answer (connection refused,
 * DNS, timeout, abort, missing credentials). 401/403 count too: a permission gap would otherwise yield a partial
 * mesh that looks complete.
 */
function isServiceUnusable(error: unknown): boolean {
  const status = httpStatus(error);
  if (status === undefined) return true;
  const name = error instanceof Error ? error.name : '';
  return status >= 500 || status === 429 || status === 401 || status === 403 || THROTTLING_CODES.has(name);
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
 * read throws the abort reason as is: it is no fault of the service.
 */
export async function readAws<T>(call: string, request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  signal?.throwIfAborted();
  try {
    return await request();
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

/**
 * The SDK classifies LimitExceededException as throttling and retries it, but it reports a service quota, which no
 * retry fixes. Installed on a client, inside the retry loop, this turns it into a SourceError, which the retry
 * strategy does not retry: the call fails at once and the object it read is recorded as a failure. Idempotent.
 */
export function refuseLimitExceededRetries<I extends object, O extends object>(client: {
  middlewareStack: MiddlewareStack<I, O>;
}): void {
  const middleware: FinalizeRequestMiddleware<I, O> = (next) => async (args) => {
    try {
      return await next(args);
    } catch (error) {
      if (error instanceof Error && error.name === 'LimitExceededException') {
        throw new SourceError(`${describeAwsError(error)} (a service quota; not retried)`, {
          cause: error,
          context: { code: error.name, status: httpStatus(error), unreachable: false },
        });
      }
      throw error;
    }
  };
  client.middlewareStack.add(middleware, {
    name: 'meshgateRefuseLimitExceededRetries',
    step: 'finalizeRequest',
    priority: 'low',
    override: true,
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
