import type { CloudMapReads } from '../aws/cloud-map-reads.js';
import type { SecretsManagerCalls } from '../aws/secrets-manager.js';
import { type Config, ConfigError } from '../config/index.js';
import type { KongApi } from './api.js';
import { KongClient } from './client.js';
import { dblessNodes } from './fleet.js';
import type { AdminTokenSource } from './http.js';
import { konnectControlPlane } from './konnect.js';

/** A Kong the app holds for the process: the Admin API client, or a DB-less fleet. */
export type ConfiguredKong = KongApi & {
  close(): void;
  /** How the Kong stores its configuration: `postgres`, `off` (DB-less), `konnect`; undefined when it does not say. */
  database(signal?: AbortSignal): Promise<string | undefined>;
};

/**
 * The admin token inside a SecretString: the raw token, or JSON `{"token": "..."}`. Errors name the secret, never
 * its content.
 */
export function tokenFromSecretString(secretString: string | undefined, secretArn: string): string {
  const text = secretString?.trim() ?? '';
  if (text === '') {
    throw new ConfigError(`KONG_ADMIN_TOKEN_SECRET_ARN='${secretArn}': the secret has no SecretString`, {
      context: { secretArn },
    });
  }
  if (!text.startsWith('{')) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`KONG_ADMIN_TOKEN_SECRET_ARN='${secretArn}': the secret looks like JSON but does not parse`, {
      context: { secretArn },
    });
  }
  const token = (parsed as { token?: unknown }).token;
  if (typeof token !== 'string' || token.trim() === '') {
    throw new ConfigError(
      `KONG_ADMIN_TOKEN_SECRET_ARN='${secretArn}': the secret's JSON has no non-empty string field 'token'`,
      { context: { secretArn } },
    );
  }
  return token.trim();
}

/**
 * The Kong admin token: from Secrets Manager when `KONG_ADMIN_TOKEN_SECRET_ARN` is set, else `KONG_ADMIN_TOKEN`
 * (local use), else none (an Admin API without authentication, e.g. OSS Kong behind a private listener).
 */
export async function resolveAdminToken(
  config: Partial<Pick<Config, 'KONG_ADMIN_TOKEN_SECRET_ARN' | 'KONG_ADMIN_TOKEN'>>,
  secretsManager: SecretsManagerCalls,
): Promise<string | undefined> {
  const secretArn = config.KONG_ADMIN_TOKEN_SECRET_ARN;
  if (!secretArn) return config.KONG_ADMIN_TOKEN;
  let secretString: string | undefined;
  try {
    ({ SecretString: secretString } = await secretsManager.getSecretValue({ SecretId: secretArn }));
  } catch (cause) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    throw new ConfigError(`KONG_ADMIN_TOKEN_SECRET_ARN='${secretArn}': cannot read the Kong admin token (${reason})`, {
      cause,
      context: { secretArn },
    });
  }
  return tokenFromSecretString(secretString, secretArn);
}

/** How long a read admin token is used before it is read again (a warm function follows a rotation within this). */
export const ADMIN_TOKEN_MAX_AGE_MS = 300_000;

/**
 * The admin token from Secrets Manager with a bounded cache (as Powertools Parameters' `getSecret` with `maxAge`):
 * read at most once per `maxAgeMs`, concurrent reads share one call, and `refresh(rejected)` (after a 401) reads it
 * now, unless the cache already holds another token: the requests in flight when a token is rotated all get 401,
 * and one read serves them all.
 */
export function cachedAdminToken(
  config: Partial<Pick<Config, 'KONG_ADMIN_TOKEN_SECRET_ARN' | 'KONG_ADMIN_TOKEN'>>,
  secretsManager: SecretsManagerCalls,
  options: { maxAgeMs?: number; now?: () => number } = {},
): AdminTokenSource {
  const maxAgeMs = options.maxAgeMs ?? ADMIN_TOKEN_MAX_AGE_MS;
  const now = options.now ?? Date.now;
  let cached: { token: Promise<string | undefined>; readAt: number } | undefined;
  const read = () => {
    const token = resolveAdminToken(config, secretsManager);
    const entry = { token, readAt: now() };
    cached = entry;
    // A failed read is not kept: the next request tries again.
    token.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return token;
  };
  return {
    current: () => (cached && now() - cached.readAt < maxAgeMs ? cached.token : read()),
    refresh: async (rejected) => {
      if (cached && rejected !== undefined) {
        const held = await cached.token.catch(() => undefined);
        if (held !== undefined && held !== rejected) return held;
      }
      return read();
    },
  };
}

/**
 * A client for the configured Kong, with the token from Secrets Manager (or the environment locally): the Admin API
 * (`KONG_MODE=db`), the DB-less nodes (`KONG_MODE=dbless`) configured through `/config`, or a Konnect control plane
 * (`KONG_MODE=konnect`, or a KONG_ADMIN_URL that is a control plane's core-entities URL).
 */
export async function kongClientFromConfig(
  config: Config,
  secretsManager: SecretsManagerCalls,
  cloudMap?: CloudMapReads,
  options: { tokenMaxAgeMs?: number } = {},
): Promise<ConfiguredKong> {
  const tokenSource = cachedAdminToken(config, secretsManager, { maxAgeMs: options.tokenMaxAgeMs });
  // Read once now: an unreadable token fails the first use, naming the variable, before any Kong request.
  await tokenSource.current();
  const connection = {
    tokenSource,
    tokenHeader: config.KONG_ADMIN_TOKEN_HEADER,
    ca: config.KONG_CA_CERT,
    allowInsecureHttp: config.KONG_ALLOW_INSECURE_HTTP,
    timeoutMs: config.KONG_TIMEOUT,
    maxResponseBytes: config.KONG_MAX_RESPONSE_BYTES,
  };
  let mode = config.KONG_MODE;
  // A control plane's core-entities URL is Konnect whatever the mode says (config refuses it with dbless).
  if (konnectControlPlane(config.KONG_ADMIN_URL)) mode = 'konnect';
  if (mode === 'konnect') return new KongClient({ url: config.KONG_ADMIN_URL, ...connection, dialect: 'konnect' });
  if (mode === 'auto') {
    const probe = new KongClient({ url: config.KONG_ADMIN_URL, ...connection });
    try {
      mode = (await probe.database()) === 'off' ? 'dbless' : 'db';
    } finally {
      probe.close();
    }
  }
  if (mode === 'dbless') {
    // Imported here so a database-mode function never evaluates the DB-less client (and its YAML parser).
    const { DeclarativeKong } = await import('./declarative.js');
    return new DeclarativeKong({
      nodes: dblessNodes(config, cloudMap),
      instance: config.MESHGATE_INSTANCE,
      http: connection,
    });
  }
  return new KongClient({ url: config.KONG_ADMIN_URL, ...connection, workspace: config.KONG_WORKSPACE });
}
