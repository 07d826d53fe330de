import { randomUUID } from 'node:crypto';
import type {
  CreateSecretRequest,
  CreateSecretResponse,
  DescribeSecretRequest,
  DescribeSecretResponse,
  GetSecretValueRequest,
  GetSecretValueResponse,
  ListSecretsRequest,
  ListSecretsResponse,
  PutSecretValueRequest,
  PutSecretValueResponse,
  RotateSecretRequest,
  RotateSecretResponse,
  UpdateSecretVersionStageRequest,
  UpdateSecretVersionStageResponse,
} from '@aws-sdk/client-secrets-manager';
import { AwsJsonError, json11Request, jsonResult, retryOn } from './json-answers.js';
import { configuredEndpoint, dnsSuffix, type SignedClientOptions, SignedHttp } from './signed-http.js';

/**
 * The seven Secrets Manager operations meshgate calls (JSON 1.1: `POST /` with `X-Amz-Target: secretsmanager.<Op>`),
 * signed with the SDK's own SigV4 signer over the SDK's own HTTP handler (signed-http.ts) instead of
 * @aws-sdk/client-secrets-manager. A rotation sends ≈ 11 of them, and the SDK client's per-call middleware was about
 * half of each call's CPU; see docs/performance.md. Only the types come from the SDK package (no code).
 *
 * Endpoints as the SDK resolves them: `AWS_ENDPOINT_URL_SECRETS_MANAGER` (the SDK's service id `Secrets Manager`),
 * then `AWS_ENDPOINT_URL` (unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`); otherwise
 * `https://secretsmanager.<region>.<suffix>`. Credentials: those given, or the SDK's default chain. Retries as the
 * SDK's standard mode: 3 attempts, on 429 and ThrottlingException (throttling, longer backoff), 500/502/503/504 and
 * failed connections.
 *
 * Timestamps: Secrets Manager's JSON carries them as epoch seconds; like the SDK, the client turns them into Dates
 * (see SECRET_TIMESTAMPS), so the SDK types hold: ListSecrets' and DescribeSecret's `CreatedDate`, `DeletedDate`,
 * `LastAccessedDate`, `LastChangedDate`, `LastRotatedDate`, `NextRotationDate` (the rotation schedule reads the last
 * three of ListSecrets) and DescribeSecret's `ReplicationStatus[].LastAccessedDate`; GetSecretValue's `CreatedDate`.
 * The other four answers carry none.
 */
export interface SecretsManagerCalls {
  describeSecret(input: DescribeSecretRequest, signal?: AbortSignal): Promise<DescribeSecretResponse>;
  getSecretValue(input: GetSecretValueRequest, signal?: AbortSignal): Promise<GetSecretValueResponse>;
  listSecrets(input: ListSecretsRequest, signal?: AbortSignal): Promise<ListSecretsResponse>;
  createSecret(input: CreateSecretRequest, signal?: AbortSignal): Promise<CreateSecretResponse>;
  putSecretValue(input: PutSecretValueRequest, signal?: AbortSignal): Promise<PutSecretValueResponse>;
  rotateSecret(input: RotateSecretRequest, signal?: AbortSignal): Promise<RotateSecretResponse>;
  updateSecretVersionStage(
    input: UpdateSecretVersionStageRequest,
    signal?: AbortSignal,
  ): Promise<UpdateSecretVersionStageResponse>;
}

/**
 * A Secrets Manager error answer (see AwsJsonError): `ResourceNotFoundException`, `ResourceExistsException`,
 * `InvalidRequestException`, `AccessDeniedException`, ...
 */
export class SecretsManagerError extends AwsJsonError {}

/** Whether `error` is Secrets Manager's answer `code` (what `instanceof ResourceNotFoundException` told with the SDK). */
export function isSecretsManagerError(error: unknown, code: string): error is SecretsManagerError {
  return error instanceof SecretsManagerError && error.name === code;
}

const TARGET_PREFIX = 'secretsmanager';
const retryKind = retryOn(new Set(['ThrottlingException']));

/** An operation's name, as X-Amz-Target names it. */
type Operation = Capitalize<keyof SecretsManagerCalls>;

/** The epoch-second members of a secret's metadata (ListSecrets' entries, DescribeSecret's answer). */
const SECRET_TIMESTAMPS = [
  'CreatedDate',
  'DeletedDate',
  'LastAccessedDate',
  'LastChangedDate',
  'LastRotatedDate',
  'NextRotationDate',
] as const;

/** The configured endpoint (as is), else the regional one. */
export function secretsManagerEndpoint(env: NodeJS.ProcessEnv, region: string): URL {
  return configuredEndpoint(env, 'SECRETS_MANAGER') ?? new URL(`https://secretsmanager.${region}.${dnsSuffix(region)}`);
}

export class SecretsManagerJsonClient implements SecretsManagerCalls {
  private readonly http: SignedHttp;
  private readonly endpoint: URL;

  constructor(options: SignedClientOptions, env: NodeJS.ProcessEnv = process.env) {
    this.http = new SignedHttp({ ...options, service: 'secretsmanager' });
    this.endpoint = secretsManagerEndpoint(env, options.region);
  }

  async describeSecret(input: DescribeSecretRequest, signal?: AbortSignal): Promise<DescribeSecretResponse> {
    const secret = withDates(await this.call<DescribeSecretResponse>('DescribeSecret', input, signal));
    for (const replica of secret.ReplicationStatus ?? []) dateOf(replica, 'LastAccessedDate');
    return secret;
  }

  async getSecretValue(input: GetSecretValueRequest, signal?: AbortSignal): Promise<GetSecretValueResponse> {
    return dateOf(await this.call<GetSecretValueResponse>('GetSecretValue', input, signal), 'CreatedDate');
  }

  async listSecrets(input: ListSecretsRequest, signal?: AbortSignal): Promise<ListSecretsResponse> {
    const page = await this.call<ListSecretsResponse>('ListSecrets', input, signal);
    for (const secret of page.SecretList ?? []) withDates(secret);
    return page;
  }

  createSecret(input: CreateSecretRequest, signal?: AbortSignal) {
    return this.call<CreateSecretResponse>('CreateSecret', withRequestToken(input), signal);
  }

  putSecretValue(input: PutSecretValueRequest, signal?: AbortSignal) {
    return this.call<PutSecretValueResponse>('PutSecretValue', withRequestToken(input), signal);
  }

  rotateSecret(input: RotateSecretRequest, signal?: AbortSignal) {
    return this.call<RotateSecretResponse>('RotateSecret', withRequestToken(input), signal);
  }

  updateSecretVersionStage(input: UpdateSecretVersionStageRequest, signal?: AbortSignal) {
    return this.call<UpdateSecretVersionStageResponse>('UpdateSecretVersionStage', input, signal);
  }

  destroy(): void {
    this.http.destroy();
  }

  private async call<T>(operation: Operation, input: object, signal?: AbortSignal): Promise<T> {
    const request = json11Request(this.endpoint, `${TARGET_PREFIX}.${operation}`, input);
    const outcome = await this.http.send(request, retryKind, signal);
    return jsonResult<T>(outcome, SecretsManagerError, { operation });
  }
}

/**
 * `ClientRequestToken` is an idempotency token: when the caller gives none, the SDK sends a random UUID (the new
 * version's id), and the service requires one. Generated once per call, so a retried attempt repeats it.
 */
function withRequestToken<T extends { ClientRequestToken?: string }>(input: T): T {
  return input.ClientRequestToken == null ? { ...input, ClientRequestToken: randomUUID() } : input;
}

/** A secret's metadata with its timestamps as Dates. */
function withDates<T extends object>(secret: T): T {
  for (const field of SECRET_TIMESTAMPS) dateOf(secret, field);
  return secret;
}

/**
 * Turns one member from epoch seconds (a number, or its string form) into a Date, in place, as the SDK does
 * (to the millisecond, rounded).
 */
function dateOf<T extends object>(holder: T, field: string): T {
  const record = holder as Record<string, unknown>;
  const value = record[field];
  if (typeof value === 'number' || typeof value === 'string')
    record[field] = new Date(Math.round(Number(value) * 1000));
  return holder;
}
