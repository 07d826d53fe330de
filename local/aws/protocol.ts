import type { IncomingHttpHeaders } from 'node:http';

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

export interface AwsRequest {
  method: string;
  /** URL path, decoded per segment by the service as it needs (raw here). */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Operation named by `X-Amz-Target` for JSON 1.1 services. */
  operation?: string;
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
}

/** One AWS service served by the double. Dispatch is by the SigV4 signing name in `Authorization`. */
export interface AwsServiceModule {
  /** SigV4 service name: appmesh, servicediscovery, s3, events, secretsmanager, lambda. */
  readonly signingName: string;
  /** Protocol, for error rendering: JSON 1.1 (`__type`), REST-JSON (`x-amzn-ErrorType`), REST-XML (S3). */
  readonly protocol: 'json' | 'rest-json' | 'rest-xml';
  /** The operation a request names (for logs and fault rules). */
  operationOf(request: AwsRequest): string | undefined;
  handle(request: AwsRequest, context: AwsContext): Promise<AwsResponse>;
  /** Forgets all state (tests start clean). */
  reset(): void;
}

/** JSON 1.1 services: one handler per operation, JSON in and out. */
export function jsonService(
  signingName: string,
  operations: Record<string, (input: Record<string, unknown>, context: AwsContext) => unknown>,
  reset: () => void,
): AwsServiceModule {
  return {
    signingName,
    protocol: 'json',
    operationOf: (request) => request.operation,
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
