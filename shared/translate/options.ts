import type { Config } from '../config/index.js';
import type { TranslateOptions } from './exposure.js';

/** The settings that shape translation; everything but the instance and the correlation header is optional. */
export type TranslateSettings = Pick<Config, 'MESHGATE_INSTANCE' | 'TRACING_HEADER'> &
  Partial<Pick<Config, 'TRACING' | 'OTEL_TRACES_ENDPOINT' | 'JWKS_PATH'>>;

/** Translation options from the configuration plus the mesh CA read from Secrets Manager (if any). Pure. */
export function translateOptions(settings: TranslateSettings, meshCaCertificate?: string): TranslateOptions {
  return {
    instance: settings.MESHGATE_INSTANCE,
    tracingHeader: settings.TRACING_HEADER,
    ...(settings.TRACING ? { tracing: settings.TRACING } : {}),
    ...(settings.OTEL_TRACES_ENDPOINT ? { otlpTracesEndpoint: settings.OTEL_TRACES_ENDPOINT } : {}),
    ...(settings.JWKS_PATH && settings.JWKS_PATH !== 'off' ? { jwksPath: settings.JWKS_PATH } : {}),
    ...(meshCaCertificate ? { meshCaCertificate } : {}),
  };
}
