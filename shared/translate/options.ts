import type { Config } from '../config/index.js';
import type { TranslateOptions } from './exposure.js';
import { DEFAULT_TARGET_POLICY, type TargetPolicy } from './target-policy.js';

/** The settings that shape translation; everything but the instance and the correlation header is optional. */
export type TranslateSettings = Pick<Config, 'MESHGATE_INSTANCE' | 'TRACING_HEADER'> &
  Partial<
    Pick<
      Config,
      'TRACING' | 'OTEL_TRACES_ENDPOINT' | 'JWKS_PATH' | 'TARGET_CIDRS' | 'TARGET_HOST_SUFFIXES' | 'KONG_ADMIN_URL'
    >
  >;

/** Translation options from the configuration plus the mesh CA read from Secrets Manager (if any). Pure. */
export function translateOptions(settings: TranslateSettings, meshCaCertificate?: string): TranslateOptions {
  return {
    instance: settings.MESHGATE_INSTANCE,
    tracingHeader: settings.TRACING_HEADER,
    targetPolicy: targetPolicyOf(settings),
    ...(settings.TRACING ? { tracing: settings.TRACING } : {}),
    ...(settings.OTEL_TRACES_ENDPOINT ? { otlpTracesEndpoint: settings.OTEL_TRACES_ENDPOINT } : {}),
    ...(settings.JWKS_PATH && settings.JWKS_PATH !== 'off' ? { jwksPath: settings.JWKS_PATH } : {}),
    ...(meshCaCertificate ? { meshCaCertificate } : {}),
  };
}

/** The target policy of the settings; unset lists take the defaults, and the Admin API's host is always refused. */
function targetPolicyOf(settings: TranslateSettings): TargetPolicy {
  const adminUrl =
    settings.KONG_ADMIN_URL && URL.canParse(settings.KONG_ADMIN_URL) ? new URL(settings.KONG_ADMIN_URL) : undefined;
  return {
    cidrs: settings.TARGET_CIDRS ?? DEFAULT_TARGET_POLICY.cidrs,
    hostSuffixes: settings.TARGET_HOST_SUFFIXES ?? DEFAULT_TARGET_POLICY.hostSuffixes,
    ...(adminUrl ? { adminHost: adminUrl.hostname } : {}),
  };
}
