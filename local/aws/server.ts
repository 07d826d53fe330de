import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultInjector, type FaultRule, type LoggedRequest, RequestLog } from '../faults.js';
import { type Caller, IamEnforcer } from './iam/enforce.js';
import { loadRoles, type RoleSet } from './iam/roles.js';
import { assumedRoleArn } from './identity.js';
import {
  type AwsContext,
  type AwsRequest,
  type AwsResponse,
  AwsServiceError,
  type AwsServiceModule,
  type CloudTrailCall,
  type FunctionConfiguration,
} from './protocol.js';
import type { CloudTrailService } from './services/cloudtrail.js';
import { createServices } from './services/index.js';
import type { SecretsManagerOptions } from './services/secretsmanager.js';

/** An EventBridge event as delivered to a Lambda target. */
export interface EventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export type LambdaHandler = (event: unknown, context: Record<string, unknown>) => Promise<unknown>;

export interface AwsDouble {
  readonly url: string;
  readonly port: number;
  readonly account: string;
  readonly region: string;
  readonly faults: FaultInjector;
  readonly requests: RequestLog;
  /** IAM enforcement: the roles of serverless.yml, evaluated on every call signed with a role's credentials. */
  readonly iam: IamEnforcer;
  /** Short function name (`meshSync`) → the ARN of its role, as serverless.yml assigns them. */
  readonly functionRoles: Record<string, string>;
  /** Every successful write call as a CloudTrail-style EventBridge event, in order. */
  readonly cloudTrail: EventBridgeEvent[];
  /** Calls `listener` for each CloudTrail-style event as it is published; returns an unsubscribe function. */
  onCloudTrail(listener: (event: EventBridgeEvent) => void): () => void;
  /**
   * Registers a Lambda function (by name) that `lambda:Invoke` and rotation can call; `configuration` is what
   * GetFunctionConfiguration reports of it (its role, its environment).
   */
  registerFunction(name: string, handler: LambdaHandler, configuration?: Omit<FunctionConfiguration, 'name'>): void;
  invokeFunction(nameOrArn: string, payload: unknown): Promise<unknown>;
  service<T extends AwsServiceModule>(signingName: string): T;
  /** Environment that points the AWS SDK (and CLI) at this double. */
  env(): Record<string, string>;
  reset(): void;
  close(): Promise<void>;
}

const EVENT_SOURCES: Record<string, string> = {
  'appmesh.amazonaws.com': 'aws.appmesh',
  'servicediscovery.amazonaws.com': 'aws.servicediscovery',
  'secretsmanager.amazonaws.com': 'aws.secretsmanager',
  's3.amazonaws.com': 'aws.s3',
  'events.amazonaws.com': 'aws.events',
};

const TARGET_PREFIXES: Record<string, string> = {
  Route53AutoNaming_v20170314: 'servicediscovery',
  secretsmanager: 'secretsmanager',
  AWSEvents: 'events',
  ResourceGroupsTaggingAPI_20170126: 'tagging',
  CloudTrail_20131101: 'cloudtrail',
  Logs_20140328: 'logs',
};

/** Starts the AWS double on 127.0.0.1 (port 0 = a free port). */
export async function startAwsDouble(
  options: {
    port?: number;
    account?: string;
    region?: string;
    /** The roles to enforce (default: serverless.yml's, for the stage `local`). */
    roles?: RoleSet;
    /**
     * Publish CloudTrail events only while a logging trail records management writes in the region, as AWS
     * delivers them (the local stack, which creates one). Off: every write is published (tests of other behaviour).
     */
    cloudTrailNeedsTrail?: boolean;
    /** When RotateSecret runs the rotation steps (see SecretsManagerOptions). */
    rotation?: SecretsManagerOptions['rotation'];
  } = {},
): Promise<AwsDouble> {
  const account = options.account ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const roleSet = options.roles ?? loadRoles({ stage: 'local', account, region });
  const iam = new IamEnforcer(roleSet.roles);
  const services = new Map<string, AwsServiceModule>(
    createServices({ secretsManager: { rotation: options.rotation } }).map((service) => [service.signingName, service]),
  );
  const functions = new Map<string, LambdaHandler>();
  const configurations = new Map<string, Omit<FunctionConfiguration, 'name'>>();
  const faults = new FaultInjector();
  const requests = new RequestLog();
  const cloudTrail: EventBridgeEvent[] = [];
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);

  const context: AwsContext = {
    account,
    region,
    recordCall: (call) => publishCall(call, { kind: 'operator' }),
    invokeFunction: (nameOrArn, payload) => invokeFunction(nameOrArn, payload),
    service: <T extends AwsServiceModule>(signingName: string) => serviceNamed<T>(signingName),
    // Calls the double makes itself (no request in flight) are the service's own.
    authorize: async () => {},
    simulatePrincipalPolicy: (roleArn, actions, resources) => iam.simulate(roleArn, actions, resources),
    functionConfiguration(nameOrArn) {
      const name = functionNameOf(nameOrArn);
      if (!functions.has(name)) {
        throw new AwsServiceError('ResourceNotFoundException', `Function not found: ${nameOrArn}`, 404);
      }
      return { name, ...configurations.get(name) };
    },
  };

  function publishCall(call: CloudTrailCall, caller: Caller): void {
    if (
      options.cloudTrailNeedsTrail &&
      !serviceNamed<CloudTrailService>('cloudtrail').recordsManagementWrites(region)
    ) {
      return; // no trail records the call: EventBridge never hears of it
    }
    const event = cloudTrailEvent(call, account, region, caller);
    cloudTrail.push(event);
    emitter.emit('event', event);
  }

  /** The context of one request: checks made on the caller's behalf use the caller's role; records name it. */
  function contextFor(caller: Caller, protocol: AwsServiceModule['protocol']): AwsContext {
    return {
      ...context,
      recordCall: (call) => publishCall(call, caller),
      authorize: (action, resource) => iam.check(caller, { action, resources: [resource] }, protocol),
    };
  }

  function serviceNamed<T extends AwsServiceModule>(signingName: string): T {
    const service = services.get(signingName);
    if (!service) throw new Error(`the AWS double serves no service '${signingName}'`);
    return service as T;
  }

  async function invokeFunction(nameOrArn: string, payload: unknown): Promise<unknown> {
    const name = functionNameOf(nameOrArn);
    const handler = functions.get(name);
    if (!handler) {
      throw new AwsServiceError('ResourceNotFoundException', `Function not found: ${nameOrArn}`, 404);
    }
    const requestId = randomUUID();
    const deadline = Date.now() + 900_000;
    return handler(structuredClone(payload), {
      awsRequestId: requestId,
      functionName: name,
      invokedFunctionArn: `arn:aws:lambda:${region}:${account}:function:${name}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    });
  }

  const server: Server = createServer((req, res) => {
    void serve(req, res);
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = performance.now();
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const target = String(req.headers['x-amz-target'] ?? '');
    const request: AwsRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      // `AWSEvents.PutEvents`; CloudTrail's may carry its namespace (`com.amazonaws.cloudtrail.v20131101.…`).
      operation: target.includes('.') ? target.slice(target.lastIndexOf('.') + 1) : undefined,
      receivedAt,
    };
    const service = services.get(signingNameOf(req, target, url.pathname));
    const logged: LoggedRequest = {
      method: request.method,
      path: request.path,
      operation: service?.operationOf(request),
    };
    requests.record(logged);
    await faults.roundTrip();
    const fault = faults.take(logged);
    if (fault) {
      logged.fault = true;
      await answerFault(fault, service, res, logged);
      return;
    }
    let response: AwsResponse;
    try {
      if (!service)
        throw new AwsServiceError(
          'UnknownServiceException',
          `No service serves ${request.method} ${request.path}`,
          404,
        );
      const caller = iam.callerOf(req.headers);
      const call = service.iamCall(request, context);
      if (call) await iam.check(caller, call, service.protocol);
      response = await service.handle(request, contextFor(caller, service.protocol));
    } catch (error) {
      response = renderError(service?.protocol ?? 'rest-json', toServiceError(error));
    }
    logged.status = response.status;
    res.writeHead(response.status, { 'x-amzn-requestid': randomUUID(), ...response.headers });
    res.end(response.body);
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    port,
    account,
    region,
    faults,
    requests,
    iam,
    functionRoles: roleSet.functionRoles,
    cloudTrail,
    onCloudTrail(listener) {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
    registerFunction(name, handler, configuration) {
      functions.set(name, handler);
      if (configuration) configurations.set(name, configuration);
    },
    invokeFunction,
    service: serviceNamed,
    env: () => awsEnv(url, region, account),
    reset() {
      for (const service of services.values()) service.reset();
      iam.setRoles(roleSet.roles);
      iam.allowed.clear();
      iam.enabled = true;
      faults.clear();
      requests.clear();
      cloudTrail.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A function named directly or by ARN (`arn:aws:lambda:…:function:<name>[:qualifier]`). */
function functionNameOf(nameOrArn: string): string {
  return nameOrArn.includes(':function:') ? (nameOrArn.split(':function:')[1]?.split(':')[0] ?? '') : nameOrArn;
}

/** Environment that points the AWS SDK v3 and the AWS CLI at a double on `url`. */
export function awsEnv(url: string, region = 'us-east-1', account = '123456789012'): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: url,
    // The CLI names deployed functions by ARN (rotation), which needs the account.
    AWS_ACCOUNT_ID: account,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'meshgate-local',
    AWS_SECRET_ACCESS_KEY: 'meshgate-local',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** The SigV4 service name from `Authorization`; unsigned requests fall back to the target prefix or path. */
function signingNameOf(req: IncomingMessage, target: string, path: string): string {
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''));
  if (scope?.[1]) return scope[1];
  const prefix = target.split('.').at(-2) ?? '';
  if (TARGET_PREFIXES[prefix]) return TARGET_PREFIXES[prefix];
  if (path.startsWith('/v20190125/')) return 'appmesh';
  if (path.startsWith('/2015-03-31/functions')) return 'lambda';
  return 's3';
}

/** CloudTrail's `userIdentity`: an assumed role for a function's calls, the local operator (an IAM user) otherwise. */
function userIdentityOf(caller: Caller, account: string): Record<string, unknown> {
  if (caller.kind === 'role') {
    const roleName = caller.role.arn.split('/').at(-1) ?? '';
    return {
      type: 'AssumedRole',
      principalId: `AROAMESHGATELOCAL:${caller.sessionName}`,
      arn: assumedRoleArn(caller.role.arn, caller.sessionName),
      accountId: account,
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROAMESHGATELOCAL',
          arn: caller.role.arn,
          accountId: account,
          userName: roleName,
        },
      },
    };
  }
  return {
    type: 'IAMUser',
    principalId: 'AIDAMESHGATELOCAL',
    arn: `arn:aws:iam::${account}:user/meshgate-local`,
    accountId: account,
    accessKeyId: 'meshgate-local',
    userName: 'meshgate-local',
  };
}

const TIMESTAMP_MEMBERS = new Set(['createdAt', 'lastUpdatedAt', 'createDate', 'updateDate', 'createdDate']);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** CloudTrail writes timestamps in responseElements Java-style (`Oct 18, 2019 3:00:49 PM`, UTC), not as numbers. */
function javaStyleDates(value: unknown, key = ''): unknown {
  if (typeof value === 'number' && TIMESTAMP_MEMBERS.has(key)) {
    const date = new Date(value * 1000);
    const hours = date.getUTCHours();
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()} ${hours % 12 || 12}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${hours < 12 ? 'AM' : 'PM'}`;
  }
  if (Array.isArray(value)) return value.map((item) => javaStyleDates(item));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, javaStyleDates(item, name)]));
  }
  return value;
}

function cloudTrailEvent(call: CloudTrailCall, account: string, region: string, caller: Caller): EventBridgeEvent {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: EVENT_SOURCES[call.eventSource] ?? `aws.${call.eventSource.split('.')[0]}`,
    account,
    time: now,
    region,
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: userIdentityOf(caller, account),
      eventTime: now,
      eventSource: call.eventSource,
      eventName: call.eventName,
      awsRegion: region,
      sourceIPAddress: '127.0.0.1',
      userAgent: 'meshgate-local-aws-double',
      requestParameters: call.requestParameters,
      responseElements: javaStyleDates(call.responseElements),
      requestID: randomUUID(),
      eventID: randomUUID(),
      readOnly: false,
      eventType: 'AwsApiCall',
      ...(call.apiVersion ? { apiVersion: call.apiVersion } : {}),
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    },
  };
}

function toServiceError(error: unknown): AwsServiceError {
  if (error instanceof AwsServiceError) return error;
  return new AwsServiceError('InternalFailure', error instanceof Error ? error.message : String(error), 500);
}

/** Renders an error the way the service's protocol does, so the SDK reads the right code. */
export function renderError(protocol: AwsServiceModule['protocol'], error: AwsServiceError): AwsResponse {
  if (protocol === 'rest-xml') {
    const extra = Object.entries(error.extra)
      .map(([key, value]) => `<${key}>${escapeXml(String(value))}</${key}>`)
      .join('');
    return {
      status: error.status,
      headers: { 'content-type': 'application/xml' },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message>${extra}<RequestId>${randomUUID()}</RequestId></Error>`,
    };
  }
  if (protocol === 'query') {
    // awsQuery (IAM): the error's Type is Sender for the caller's mistakes (4xx), Receiver for the service's.
    return {
      status: error.status,
      headers: { 'content-type': 'text/xml' },
      body: `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>${error.status < 500 ? 'Sender' : 'Receiver'}</Type><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    };
  }
  const headers = {
    'content-type': protocol === 'json' ? 'application/x-amz-json-1.1' : 'application/json',
    'x-amzn-errortype': error.code,
  };
  const body =
    protocol === 'json'
      ? { __type: error.code, Message: error.message, message: error.message, ...error.extra }
      : { message: error.message, ...error.extra };
  return { status: error.status, headers, body: JSON.stringify(body) };
}

async function answerFault(
  fault: FaultRule,
  service: AwsServiceModule | undefined,
  res: ServerResponse,
  logged: LoggedRequest,
): Promise<void> {
  if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
  if (fault.drop) {
    res.socket?.destroy();
    return;
  }
  const status = fault.status ?? 500;
  const body = (fault.body ?? {}) as { code?: string; message?: string };
  const response = renderError(
    service?.protocol ?? 'rest-json',
    new AwsServiceError(body.code ?? 'InternalFailure', body.message ?? 'injected fault', status),
  );
  logged.status = status;
  res.writeHead(status, { ...response.headers, ...fault.headers });
  res.end(response.body);
}

function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
