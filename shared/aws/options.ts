import type { AwsCredentialIdentity } from '@smithy/types';

/**
 * Settings every AWS SDK client of meshgate shares, without importing any client: each function's composition root
 * imports only the clients it calls, so that a function never loads (at cold start) an SDK client it does not use.
 */
export interface ClientSettings {
  region: string;
  /**
   * An endpoint override (`AWS_ENDPOINT_URL` or a service's own): the local double. Cloud Map's `data-` host
   * prefix is then disabled and S3 uses path-style addressing.
   */
  customEndpoint: boolean;
  /**
   * What every client's constructor takes: the region, credentials when they are not the process's own, and
   * `cacheMiddleware`: the SDK resolves a command's middleware stack once per command class instead of on every send
   * (≈ 30 % of a small call's CPU). The SDK uses the cache only for sends without per-call options, and meshgate
   * adds no middleware of its own, so it changes nothing else.
   */
  common: { region: string; credentials?: AwsCredentialIdentity; cacheMiddleware: true };
}

/**
 * Credentials for the clients created in the current context, by key; undefined = the process's. Lambda runs each
 * function in a process of its own; the local stack runs all of them in one and gives each its role this way.
 */
export type CredentialScope = () => { key: string; credentials: AwsCredentialIdentity } | undefined;

let credentialScope: CredentialScope | undefined;

/** Installs (or removes) the credential scope (the local stack's; see shared/aws/clients.ts). */
export function setCredentialScope(scope: CredentialScope | undefined): void {
  credentialScope = scope;
}

/** The current credential scope's key and credentials, if any. */
export function scopedCredentials(): ReturnType<CredentialScope> {
  return credentialScope?.();
}

export function clientSettings(
  env: NodeJS.ProcessEnv = process.env,
  credentials: AwsCredentialIdentity | undefined = scopedCredentials()?.credentials ?? explicitCredentials(env),
): ClientSettings {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return {
    region,
    customEndpoint: Boolean(env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_SERVICEDISCOVERY || env.AWS_ENDPOINT_URL_S3),
    common: { region, cacheMiddleware: true, ...(credentials ? { credentials } : {}) },
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
 * Cloud Map's SDK client, which the CLI, the local demo and the tests set Cloud Map up with; meshgate reads Cloud Map
 * through cloud-map-reads.ts. With a custom endpoint (the local double) the `data-` host prefix is disabled.
 */
export function serviceDiscoveryConfig({ common, customEndpoint }: ClientSettings) {
  return { ...common, disableHostPrefix: customEndpoint };
}
