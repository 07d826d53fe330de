import { MeshgateError } from '../errors.js';
import { redactUrl, shorten } from '../text.js';
import { DEFAULT_TARGET_CIDRS, DEFAULT_TARGET_HOST_SUFFIXES, parseCidr } from '../translate/target-policy.js';
import * as z from '../zod.js';

export class ConfigError extends MeshgateError {}

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `500ms`, `30s`, `15m`, `1h`, `7d` into milliseconds. */
export function parseDuration(value: string): number | undefined {
  const match = DURATION.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** A duration within bounds: a zero timeout or a grace period shorter than a token's life breaks things quietly. */
const duration = (fallback: string, bounds: { min: string; max: string }) =>
  z.pipe(
    z._default(z.string(), fallback),
    z.transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.issues.push({ code: 'custom', message: 'expected a duration such as 30s, 15m or 1h', input: value });
        return z.NEVER;
      }
      if (ms < parseDuration(bounds.min)! || ms > parseDuration(bounds.max)!) {
        ctx.issues.push({
          code: 'custom',
          message: `expected a duration from ${bounds.min} to ${bounds.max}`,
          input: value,
        });
        return z.NEVER;
      }
      return ms;
    }),
  );

/** An HTTP field name: an RFC 9110 token (no spaces, CR/LF, colons or other separators). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

const flag = z.pipe(
  z._default(z.enum(['true', 'false', '1', '0', 'yes', 'no', '']), 'false'),
  z.transform((value) => ['true', '1', 'yes'].includes(value)),
);

const list = z.pipe(
  z._default(z.string(), ''),
  z.transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ),
);

/** A comma list with a default; every item checked by `valid`. */
const checkedList = (fallback: readonly string[], valid: (item: string) => boolean, expected: string) =>
  z.pipe(
    z._default(z.string(), fallback.join(',')),
    z.transform((value, ctx) => {
      const items = value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
      const bad = items.filter((item) => !valid(item));
      if (bad.length > 0) {
        ctx.issues.push({ code: 'custom', message: `expected ${expected}, got '${bad.join("', '")}'`, input: value });
        return z.NEVER;
      }
      return items;
    }),
  );

const optionalString = z.pipe(
  z.optional(z.string()),
  z.transform((value) => (value ? value : undefined)),
);

/** The path of a Konnect control plane's core-entities API; the group is the control plane's id. */
export const KONNECT_CORE_ENTITIES = /^\/v2\/control-planes\/([0-9a-fA-F-]{36})\/core-entities\/?$/;

export const ConfigSchema = z
  .object({
    KONG_ADMIN_URL: z.url({ protocol: /^https?$/ }),
    KONG_ADMIN_TOKEN_SECRET_ARN: optionalString,
    /** Local use only: the admin token itself, when no Secrets Manager secret holds it. */
    KONG_ADMIN_TOKEN: optionalString,
    KONG_ADMIN_TOKEN_HEADER: z._default(
      z.string().check(z.regex(HEADER_NAME, 'expected an HTTP header name (RFC 9110 token)')),
      'Kong-Admin-Token',
    ),
    /** PEM of a CA to trust for the Admin API's TLS certificate, in addition to the system's. */
    KONG_CA_CERT: optionalString,
    /** Allows plain http to an Admin API that is not on loopback. */
    KONG_ALLOW_INSECURE_HTTP: flag,
    KONG_TIMEOUT: duration('10s', { min: '100ms', max: '15m' }),
    /** Largest Admin API response body accepted, in bytes. */
    KONG_MAX_RESPONSE_BYTES: z._default(
      z.coerce
        .number()
        .check(z.int())
        .check(z.gte(64 * 1024))
        .check(z.lte(512 * 1024 * 1024)),
      32 * 1024 * 1024,
    ),
    /**
     * `db` (the Admin API writes entities), `dbless` (every node configured whole with `POST /config`), `konnect`
     * (a Konnect control plane's core-entities API; also chosen when KONG_ADMIN_URL is one), or `auto` (`GET /`
     * once per process: `configuration.database` `off` means DB-less).
     */
    KONG_MODE: z._default(z.enum(['db', 'dbless', 'konnect', 'auto']), 'db'),
    /** DB-less: Admin API URLs of every node (comma list); default `KONG_ADMIN_URL` alone. */
    KONG_DBLESS_NODES: list,
    /** DB-less: the nodes are the healthy instances of this Cloud Map service (`namespace/service`). */
    KONG_DBLESS_CLOUDMAP_SERVICE: z.pipe(
      optionalString,
      z.optional(z.string().check(z.regex(/^[^/\s]+\/[^/\s]+$/, 'expected namespace/service'))),
    ),
    /** Kong Enterprise workspace (the `/{workspace}` prefix, as decK's `--workspace`); unset: the default one. */
    KONG_WORKSPACE: z.pipe(
      optionalString,
      z.optional(
        z.string().check(z.regex(/^[A-Za-z0-9._~-]{1,64}$/, 'expected 1-64 characters of A-Z a-z 0-9 . _ ~ -')),
      ),
    ),
    MESH_NAMES: list,
    /** Cloud Map namespaces to read for exposed services; empty means every namespace. */
    CLOUDMAP_NAMESPACES: list,
    /** Serverless stage; deployed functions are named `meshgate-<stage>-<function>`. */
    MESHGATE_STAGE: z._default(
      z.string().check(z.regex(/^[A-Za-z0-9-]{1,32}$/, 'expected 1-32 characters of A-Z a-z 0-9 -')),
      'dev',
    ),
    MESHGATE_INSTANCE: z._default(
      z.string().check(z.regex(/^[A-Za-z0-9._~-]{1,64}$/, 'expected 1-64 characters of A-Z a-z 0-9 . _ ~ -')),
      'default',
    ),
    SNAPSHOT_BUCKET: optionalString,
    MESHGATE_STATE_DIR: optionalString,
    AUDIT_BUS_NAME: z._default(z.string().check(z.minLength(1)), 'default'),
    /** The log group the audit bus's rule writes to, read by `meshgate audit`; default `/aws/events/<bus name>`. */
    AUDIT_LOG_GROUP: optionalString,
    JWT_ALGORITHM: z._default(z.enum(['ES256', 'RS256', 'EdDSA']), 'ES256'),
    KEY_GRACE_PERIOD: duration('1h', { min: '1m', max: '30d' }),
    /** Name prefix of every consumer key secret; the functions' IAM grants are scoped to it (serverless.yml). */
    CONSUMER_SECRET_PREFIX: z._default(
      z
        .string()
        .check(z.regex(/^[A-Za-z0-9/_+=.@-]{1,256}$/, 'expected 1-256 characters of A-Z a-z 0-9 / _ + = . @ -')),
      'meshgate/consumers/',
    ),
    /** Correlation header propagated on every exposed service; `off` disables the correlation-id plugin. */
    TRACING_HEADER: z._default(
      z.string().check(z.regex(HEADER_NAME, "expected an HTTP header name (RFC 9110 token) or 'off'")),
      'x-request-id',
    ),
    /** CIDRs instance addresses must fall in to become Kong targets (loopback, link-local etc. never do). */
    TARGET_CIDRS: checkedList(DEFAULT_TARGET_CIDRS, (item) => parseCidr(item) !== undefined, 'a comma list of CIDRs'),
    /** DNS suffixes a hostname target must end with. */
    TARGET_HOST_SUFFIXES: checkedList(
      DEFAULT_TARGET_HOST_SUFFIXES,
      (item) => /^\.?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(item),
      'a comma list of DNS suffixes such as .internal',
    ),
    /** `opentelemetry` adds Kong's OpenTelemetry plugin (W3C + AWS trace context) to every exposed service. */
    TRACING: z._default(z.enum(['correlation-id', 'opentelemetry']), 'correlation-id'),
    /** OTLP/HTTP traces endpoint (e.g. an ADOT collector); required with TRACING=opentelemetry. */
    OTEL_TRACES_ENDPOINT: z.optional(z.url({ protocol: /^https?$/ })),
    /** Secret holding the mesh's CA certificate (PEM): Kong verifies https hops to the mesh against it. */
    MESH_CA_SECRET_ARN: optionalString,
    /** Path of the edge JWKS route; `off` writes none. */
    JWKS_PATH: z._default(
      z
        .string()
        .check(z.regex(/^(off|\/[A-Za-z0-9\-._~/]*)$/, "expected 'off' or a path such as /.well-known/jwks.json")),
      '/.well-known/jwks.json',
    ),
    /** Lifetime of tokens the issueToken function mints: at most 1h, the grace period a retired key lives. */
    TOKEN_TTL: duration('15m', { min: '1s', max: '1h' }),
    /** `iss` and `aud` claims of issued tokens (none when unset). */
    TOKEN_ISSUER: optionalString,
    TOKEN_AUDIENCE: optionalString,
    SYNC_PARALLELISM: z._default(z.coerce.number().check(z.int()).check(z.gte(1)).check(z.lte(64)), 10),
    AWS_REGION: z._default(z.string().check(z.minLength(1)), 'us-east-1'),
  })
  .check(
    z.superRefine((config, ctx) => {
      if (!config.SNAPSHOT_BUCKET && !config.MESHGATE_STATE_DIR) {
        ctx.addIssue({
          code: 'custom',
          path: ['SNAPSHOT_BUCKET'],
          message: 'set SNAPSHOT_BUCKET (on AWS) or MESHGATE_STATE_DIR (locally)',
        });
      }
      if (config.TRACING === 'opentelemetry' && !config.OTEL_TRACES_ENDPOINT) {
        ctx.addIssue({
          code: 'custom',
          path: ['OTEL_TRACES_ENDPOINT'],
          message: 'required with TRACING=opentelemetry (an OTLP/HTTP traces endpoint)',
        });
      }
      // Refinements run even when KONG_ADMIN_URL itself failed; that failure is already reported.
      const url = URL.canParse(config.KONG_ADMIN_URL) ? new URL(config.KONG_ADMIN_URL) : undefined;
      if (url?.protocol === 'http:' && !isLoopback(url.hostname) && !config.KONG_ALLOW_INSECURE_HTTP) {
        ctx.addIssue({
          code: 'custom',
          path: ['KONG_ADMIN_URL'],
          message: `plain http to non-loopback host '${url.hostname}' is refused; use https or set KONG_ALLOW_INSECURE_HTTP=true`,
        });
      }
      // Konnect: a control plane's core-entities URL (shared/kong/konnect.ts), always with an access token.
      const konnectUrl = url !== undefined && KONNECT_CORE_ENTITIES.test(url.pathname);
      if (config.KONG_MODE === 'konnect' && url && !konnectUrl) {
        ctx.addIssue({
          code: 'custom',
          path: ['KONG_ADMIN_URL'],
          message:
            "with KONG_MODE=konnect, expected a control plane's core-entities URL " +
            '(https://{region}.api.konghq.com/v2/control-planes/{controlPlaneId}/core-entities)',
        });
      }
      if (config.KONG_MODE === 'dbless' && konnectUrl) {
        ctx.addIssue({
          code: 'custom',
          path: ['KONG_MODE'],
          message: 'KONG_ADMIN_URL is a Konnect control plane, not a DB-less node',
        });
      }
      if (
        (config.KONG_MODE === 'konnect' || konnectUrl) &&
        !config.KONG_ADMIN_TOKEN_SECRET_ARN &&
        !config.KONG_ADMIN_TOKEN
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['KONG_ADMIN_TOKEN_SECRET_ARN'],
          message: 'Konnect needs an access token (kpat_… or spat_…): the secret that holds it',
        });
      }
      if ((config.KONG_MODE === 'konnect' || konnectUrl) && config.KONG_WORKSPACE) {
        ctx.addIssue({
          code: 'custom',
          path: ['KONG_WORKSPACE'],
          message: 'Konnect has no workspaces in its core-entities API; give each meshgate its own control plane',
        });
      }
    }),
  );

export type Config = z.infer<typeof ConfigSchema>;

export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Validates the environment once; a bad value fails naming the variable and the value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = ConfigSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? 'environment');
    const value = env[variable];
    return `${variable}${value === undefined ? ' (unset)' : `='${echoed(variable, value)}'`}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, {
    context: { variables: result.error.issues.map((issue) => String(issue.path[0])) },
  });
}

// Variables whose value is a credential: never echoed. (An ARN names a secret; it is not one.)
const CREDENTIAL_VARIABLE = /TOKEN(?!_SECRET_ARN|_HEADER)|PASSWORD|SECRET(?!_ARN)|PRIVATE/;

/** A variable's value as a config error may show it: credentials redacted, control characters escaped, shortened. */
export function echoed(variable: string, value: string): string {
  if (CREDENTIAL_VARIABLE.test(variable)) return '[redacted]';
  return shorten(redactUrl(value), 200);
}

let cached: Config | undefined;

/** The process's configuration, parsed on first use (at cold start) and kept. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
