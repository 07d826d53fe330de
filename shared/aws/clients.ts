import { AppMeshClient } from '@aws-sdk/client-app-mesh';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import type { AwsCredentialIdentity } from '@smithy/types';

/**
 * AWS SDK v3 clients, created once per process (outside the handler, so warm invocations reuse connections).
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`; with a custom endpoint
 * (the local double) Cloud Map's `data-` host prefix is disabled and S3 uses path-style addressing.
 */
export interface AwsClients {
  appMesh: AppMeshClient;
  serviceDiscovery: ServiceDiscoveryClient;
  secretsManager: SecretsManagerClient;
  eventBridge: EventBridgeClient;
  s3: S3Client;
  lambda: LambdaClient;
}

export function createAwsClients(
  env: NodeJS.ProcessEnv = process.env,
  credentials: AwsCredentialIdentity | undefined = explicitCredentials(env),
): AwsClients {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const customEndpoint = Boolean(
    env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_SERVICEDISCOVERY || env.AWS_ENDPOINT_URL_S3,
  );
  const common = { region, ...(credentials ? { credentials } : {}) };
  return {
    appMesh: new AppMeshClient(common),
    serviceDiscovery: new ServiceDiscoveryClient({ ...common, disableHostPrefix: customEndpoint }),
    secretsManager: new SecretsManagerClient(common),
    eventBridge: new EventBridgeClient(common),
    s3: new S3Client({ ...common, forcePathStyle: customEndpoint }),
    lambda: new LambdaClient(common),
  };
}

/**
 * Keys of an environment other than the process's (a test acting as one function's role); the process's own go
 * through the SDK's default chain, which also refreshes them.
 */
function explicitCredentials(env: NodeJS.ProcessEnv): AwsCredentialIdentity | undefined {
  if (env === process.env || !env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}

/**
 * Credentials for the clients created in the current context, by key; undefined = the process's. Lambda runs each
 * function in a process of its own; the local stack runs all of them in one and gives each its role this way.
 */
export type CredentialScope = () => { key: string; credentials: AwsCredentialIdentity } | undefined;

let shared: AwsClients | undefined;
let credentialScope: CredentialScope | undefined;
const scoped = new Map<string, AwsClients>();

/** Installs (or removes) the credential scope; clients created before are forgotten. */
export function scopeAwsCredentials(scope: CredentialScope | undefined): void {
  credentialScope = scope;
  for (const clients of scoped.values()) destroyClients(clients);
  scoped.clear();
}

/** The process's clients (or the current credential scope's), created on first use. */
export function awsClients(): AwsClients {
  const current = credentialScope?.();
  if (current) {
    let clients = scoped.get(current.key);
    if (!clients) {
      clients = createAwsClients(process.env, current.credentials);
      scoped.set(current.key, clients);
    }
    return clients;
  }
  shared ??= createAwsClients();
  return shared;
}

function destroyClients(clients: AwsClients): void {
  for (const client of Object.values(clients)) client.destroy();
}
