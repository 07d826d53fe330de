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
}

export function clientSettings(env: NodeJS.ProcessEnv = process.env): ClientSettings {
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    customEndpoint: Boolean(env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_SERVICEDISCOVERY || env.AWS_ENDPOINT_URL_S3),
  };
}
