import type { HttpRequest } from '@smithy/types';
import { MeshgateError } from '../errors.js';
import { type Answer, type Outcome, requestTo } from './signed-http.js';

/**
 * Answers of AWS's JSON protocols (REST-JSON: App Mesh; JSON 1.1: Cloud Map, Secrets Manager) read as the SDK reads
 * them, for meshgate's small clients (app-mesh-reads.ts, cloud-map-reads.ts, secrets-manager.ts).
 */

/**
 * An unsigned JSON 1.1 call (Cloud Map, Secrets Manager): `POST` to the endpoint's path with the operation in
 * `X-Amz-Target` (`<prefix>.<Operation>`) and the input as the JSON body.
 */
export function json11Request(endpoint: URL, target: string, input: object): HttpRequest {
  const body = JSON.stringify(input);
  return requestTo(endpoint, {
    method: 'POST',
    path: endpoint.pathname,
    query: {},
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': String(Buffer.byteLength(body)),
      'x-amz-target': target,
    },
    body,
  });
}

/**
 * An AWS error answer: `name` is the service's error code (`NotFoundException`, `ServiceNotFound`,
 * `ThrottlingException`, ...) and `$metadata` the HTTP status and attempts, as on the SDK's errors, so that callers
 * read both alike. A call that got no answer throws the connection's own error instead.
 */
export class AwsJsonError extends MeshgateError {
  readonly $metadata: { httpStatusCode: number; attempts: number; requestId?: string };

  constructor(code: string, answer: Answer, attempts: number, message: string, context: Record<string, unknown>) {
    const requestId = answer.headers['x-amzn-requestid'];
    super(message, {
      context: { code, status: answer.status, attempts, ...(requestId ? { requestId } : {}), ...context },
    });
    this.name = code;
    this.$metadata = { httpStatusCode: answer.status, attempts, ...(requestId ? { requestId } : {}) };
  }
}

/** A service's own error class (`instanceof` tells whose answer it was). */
export type AwsJsonErrorClass = new (...args: ConstructorParameters<typeof AwsJsonError>) => AwsJsonError;

const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);

/**
 * Which answers the SDK's standard retry mode tries again: throttling (429, or one of the service's throttling
 * codes) after a longer backoff, and transient server errors (500, 502, 503, 504).
 */
export function retryOn(throttlingCodes: ReadonlySet<string>): (answer: Answer) => 'throttled' | 'transient' | false {
  return (answer) => {
    if (answer.status === 429 || throttlingCodes.has(errorCode(answer) ?? '')) return 'throttled';
    return TRANSIENT_STATUS.has(answer.status) && 'transient';
  };
}

/**
 * A call's parsed answer, or its failure: the connection's error when nothing answered, otherwise the service's
 * error as `ErrorClass`.
 */
export function jsonResult<T>(outcome: Outcome, ErrorClass: AwsJsonErrorClass, context: Record<string, unknown>): T {
  if ('failure' in outcome) throw outcome.failure;
  const { answer, attempts } = outcome;
  if (answer.status < 300) return (answer.body ? JSON.parse(answer.body) : {}) as T;
  throw jsonFailure(ErrorClass, answer, attempts, context);
}

/**
 * The error's code as the SDK reads a JSON error: the `x-amzn-ErrorType` header, else the body's `code` or
 * `__type`, cut at `:` or `,` and taken after any `#` (`aws.protocols#NotFoundException:http://…`).
 */
function errorCode(answer: Answer): string | undefined {
  const raw = answer.headers['x-amzn-errortype'] ?? errorBody(answer)?.code ?? errorBody(answer)?.__type;
  if (typeof raw !== 'string' || raw === '') return undefined;
  const name = raw.split(/[:,]/)[0] as string;
  return name.includes('#') ? name.slice(name.lastIndexOf('#') + 1) : name;
}

function errorBody(
  answer: Answer,
): { code?: unknown; __type?: unknown; message?: unknown; Message?: unknown } | undefined {
  try {
    const body: unknown = JSON.parse(answer.body);
    return typeof body === 'object' && body !== null ? body : undefined;
  } catch {
    return undefined;
  }
}

function jsonFailure(
  ErrorClass: AwsJsonErrorClass,
  answer: Answer,
  attempts: number,
  context: Record<string, unknown>,
): AwsJsonError {
  const body = errorBody(answer);
  const message = body?.message ?? body?.Message;
  return new ErrorClass(
    errorCode(answer) ?? `Http${answer.status}`,
    answer,
    attempts,
    typeof message === 'string' ? message : 'UnknownError',
    context,
  );
}
