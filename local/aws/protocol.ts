import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { SimulationResult } from './iam/enforce.js';

/** An AWS error as the service models name it; the server renders it in the service's protocol. */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Extra members of the error shape (e.g. S3's Key, BucketName). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }
}

/**
 * An operation's input parsed against its members; the first bad one fails with the service's validation error
 * (`invalid` makes it) and the message AWS gives ("1 validation error detected: Value at '…' failed to satisfy …").
 */
export function parseMembers<T extends z.ZodType>(
  schema: T,
  input: unknown,
  invalid: (message: string) => AwsServiceError,
): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(
      `1 validation error detected: Value at '${issue?.path.join('.')}' failed to satisfy constraint: ${issue?.message}`,
    );
  }
  return parsed.data;
}

export interface AwsRequest {
  method: string;
  /** URL path, decoded per segment by the service as it needs (raw here). */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Operation named by `X-Amz-Target` for JSON 1.1 services. */
  operation?: string;
  /**
   * `performance.now()` when the request's headers arrived, before its body was read: S3 answers a conditional
   * write 409 when the object changed while the upload was in flight.
   */
  receivedAt?: number;
}

export interface AwsResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A CloudTrail-style record of a successful write call, published on the double's event stream. */
export interface CloudTrailCall {
  eventSource: string;
  eventName: string;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  /** The service's API version, recorded by services whose CloudTrail records carry one (App Mesh: 2019-01-25). */
  apiVersion?: string;
}

/** What a service module can ask of the server it runs in. */
export interface AwsContext {
  readonly account: string;
  readonly region: string;
  /** Publishes a successful write call as a CloudTrail event ("AWS API Call via CloudTrail"). */
  recordCall(call: CloudTrailCall): void;
  /** Invokes a Lambda function registered with the double (rotation functions, `meshgate --remote`). */
  invokeFunction(nameOrArn: string, payload: unknown): Promise<unknown>;
  /** Another service module of the same double, by signing name (e.g. Cloud Map reads from App Mesh tests). */
  service<T extends AwsServiceModule>(signingName: string): T;
  /**
   * Checks that the caller of the request being served may also do `action` on `resource` (a call the service makes
   * on the caller's behalf, e.g. RotateSecret invoking the rotation function); throws AWS's AccessDeniedException.
   */
  authorize(action: string, resource: string): Promise<void>;
  /** `iam:SimulatePrincipalPolicy` by the evaluator that enforces the roles (throws NoSuchEntity for another role). */
  simulatePrincipalPolicy(roleArn: string, actions: string[], resources: string[]): Promise<SimulationResult[]>;
  /** A registered function's configuration (role, environment), for `lambda:GetFunctionConfiguration`. */
  functionConfiguration(nameOrArn: string): FunctionConfiguration;
}

/** What the double knows of a function beyond its handler: what Lambda's GetFunctionConfiguration reports. */
export interface FunctionConfiguration {
  name: string;
  role?: string;
  environment?: Record<string, string>;
}

/** What IAM authorizes a request on: `service:Action` and the ARNs the request names. */
export interface IamCall {
  action: string;
  /** ARNs the request names; the action's resource types (Service Authorization Reference) pick the ones checked. */
  resources: string[];
}

/** One AWS service served by the double. Dispatch is by the SigV4 signing name in `Authorization`. */
export interface AwsServiceModule {
  /** SigV4 service name: appmesh, servicediscovery, s3, events, secretsmanager, lambda. */
  readonly signingName: string;
  /**
   * Protocol, for error rendering: JSON 1.1 (`__type`), REST-JSON (`x-amzn-ErrorType`), REST-XML (S3), awsQuery
   * (IAM: `<ErrorResponse>`).
   */
  readonly protocol: 'json' | 'rest-json' | 'rest-xml' | 'query';
  /** The operation a request names (for logs and fault rules). */
  operationOf(request: AwsRequest): string | undefined;
  handle(request: AwsRequest, context: AwsContext): Promise<AwsResponse>;
  /** The IAM action and resources of a request, for the double's IAM enforcement. */
  iamCall(request: AwsRequest, context: Pick<AwsContext, 'account' | 'region'>): IamCall | undefined;
  /** Forgets all state (tests start clean). */
  reset(): void;
  /** The service's resources that carry tags, for the Resource Groups Tagging API (services that have tags). */
  taggedResources?(): TaggedResource[];
}

/** A resource and its tags, as the Resource Groups Tagging API lists it. */
export interface TaggedResource {
  arn: string;
  tags: { key: string; value: string }[];
}

/** JSON 1.1 services: one handler per operation, JSON in and out. */
export function jsonService(
  signingName: string,
  operations: Record<string, (input: Record<string, unknown>, context: AwsContext) => unknown>,
  reset: () => void,
  /** ARNs an input names (secret ids, service ids, ...), for IAM; `iamPrefix` is the IAM service prefix. */
  iam: {
    resources: (
      operation: string,
      input: Record<string, unknown>,
      where: Pick<AwsContext, 'account' | 'region'>,
    ) => string[];
    iamPrefix?: string;
  } = { resources: () => [] },
): AwsServiceModule {
  return {
    signingName,
    protocol: 'json',
    operationOf: (request) => request.operation,
    iamCall(request, where) {
      const operation = request.operation;
      if (!operation || !operations[operation]) return undefined;
      let input: Record<string, unknown> = {};
      try {
        input = request.body.length ? (JSON.parse(request.body.toString('utf8')) as Record<string, unknown>) : {};
      } catch {
        // A malformed body names no resource; the handler answers SerializationException after authorization.
      }
      return {
        action: `${iam.iamPrefix ?? signingName}:${operation}`,
        resources: iam.resources(operation, input, where),
      };
    },
    reset,
    async handle(request, context) {
      const operation = request.operation ?? '';
      const handler = operations[operation];
      if (!handler) throw new AwsServiceError('UnknownOperationException', `Unknown operation ${operation}`);
      let input: Record<string, unknown>;
      try {
        input = request.body.length ? (JSON.parse(request.body.toString('utf8')) as Record<string, unknown>) : {};
      } catch {
        throw new AwsServiceError('SerializationException', 'Start of structure or map found where not expected.');
      }
      const output = await handler(input, context);
      return {
        status: 200,
        headers: { 'content-type': 'application/x-amz-json-1.1' },
        body: JSON.stringify(output ?? {}),
      };
    },
  };
}

/**
 * Items by key in insertion order, paged with opaque `nextToken`s in O(page): the token carries the position and key
 * of the last item served, so resuming is an index lookup (a scan only when deletes shifted the list).
 */
export class PagedCollection<T> {
  private readonly byKey = new Map<string, T>();
  private readonly order: string[] = [];

  get size(): number {
    return this.order.length;
  }

  get(key: string): T | undefined {
    return this.byKey.get(key);
  }

  /** Replaces an item in place, or appends a new one. */
  set(key: string, item: T): void {
    if (!this.byKey.has(key)) this.order.push(key);
    this.byKey.set(key, item);
  }

  clear(): void {
    this.byKey.clear();
    this.order.length = 0;
  }

  /** O(n) splice: deletes are rare next to reads. */
  delete(key: string): boolean {
    if (!this.byKey.delete(key)) return false;
    this.order.splice(this.order.indexOf(key), 1);
    return true;
  }

  values(): IterableIterator<T> {
    return this.byKey.values();
  }

  /** Up to `limit` items after `nextToken`; `invalidToken` builds the service's error for a token it never issued. */
  page(limit: number, nextToken: string | undefined, invalidToken: () => Error): { items: T[]; nextToken?: string } {
    const start = nextToken === undefined ? 0 : this.resume(nextToken, invalidToken);
    const keys = this.order.slice(start, start + limit);
    const end = start + keys.length;
    const last = keys.at(-1);
    return {
      items: keys.map((key) => this.byKey.get(key) as T),
      ...(end < this.order.length && last !== undefined
        ? { nextToken: Buffer.from(JSON.stringify([end, last])).toString('base64url') }
        : {}),
    };
  }

  private resume(token: string, invalidToken: () => Error): number {
    let position: unknown;
    try {
      position = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      throw invalidToken();
    }
    if (!Array.isArray(position) || typeof position[0] !== 'number' || typeof position[1] !== 'string') {
      throw invalidToken();
    }
    const [offset, lastKey] = position as [number, string];
    if (this.order[offset - 1] === lastKey) return offset;
    const moved = this.order.indexOf(lastKey);
    return moved >= 0 ? moved + 1 : Math.min(offset, this.order.length);
  }
}
