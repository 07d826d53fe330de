import { z } from 'zod';

/**
 * Kong 3.9 entities as the Admin API returns them, with Kong's defaults (reference §5). Parsing a partial entity
 * fills the defaults, so a desired entity and a dumped one normalize to the same shape and compare field by field.
 * Unknown keys are stripped: meshgate compares and writes only the fields listed here.
 */

const tags = z.array(z.string()).nullable().default(null);
const foreignKey = z.object({ id: z.string() });
const timestamps = {
  created_at: z.number().optional(),
  updated_at: z.number().optional(),
};

export const ServiceSchema = z.object({
  id: z.string(),
  ...timestamps,
  name: z.string().nullable().default(null),
  retries: z.number().int().default(5),
  protocol: z.enum(['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp']).default('http'),
  host: z.string(),
  port: z.number().int().default(80),
  path: z.string().nullable().default(null),
  connect_timeout: z.number().int().default(60000),
  write_timeout: z.number().int().default(60000),
  read_timeout: z.number().int().default(60000),
  tags,
  client_certificate: foreignKey.nullable().default(null),
  tls_verify: z.boolean().nullable().default(null),
  tls_verify_depth: z.number().int().nullable().default(null),
  ca_certificates: z.array(z.string()).nullable().default(null),
  enabled: z.boolean().default(true),
});

export const RouteSchema = z.object({
  id: z.string(),
  ...timestamps,
  name: z.string().nullable().default(null),
  protocols: z.array(z.string()).default(['http', 'https']),
  methods: z.array(z.string()).nullable().default(null),
  hosts: z.array(z.string()).nullable().default(null),
  paths: z.array(z.string()).nullable().default(null),
  headers: z.record(z.string(), z.array(z.string())).nullable().default(null),
  https_redirect_status_code: z.number().int().default(426),
  regex_priority: z.number().int().default(0),
  strip_path: z.boolean().default(true),
  path_handling: z.enum(['v0', 'v1']).default('v0'),
  preserve_host: z.boolean().default(false),
  request_buffering: z.boolean().default(true),
  response_buffering: z.boolean().default(true),
  snis: z.array(z.string()).nullable().default(null),
  sources: z
    .array(z.object({ ip: z.string().optional(), port: z.number().optional() }))
    .nullable()
    .default(null),
  destinations: z
    .array(z.object({ ip: z.string().optional(), port: z.number().optional() }))
    .nullable()
    .default(null),
  tags,
  service: foreignKey.nullable().default(null),
});

const statuses = (values: number[]) => z.array(z.number().int()).default(values);

const ActiveHealthcheckSchema = z.object({
  type: z.enum(['tcp', 'http', 'https', 'grpc', 'grpcs']).default('http'),
  timeout: z.number().default(1),
  concurrency: z.number().int().default(10),
  http_path: z.string().default('/'),
  https_sni: z.string().nullable().default(null),
  https_verify_certificate: z.boolean().default(true),
  headers: z.record(z.string(), z.array(z.string())).nullable().default(null),
  healthy: z
    .object({
      interval: z.number().default(0),
      http_statuses: statuses([200, 302]),
      successes: z.number().int().default(0),
    })
    .prefault({}),
  unhealthy: z
    .object({
      interval: z.number().default(0),
      http_statuses: statuses([429, 404, 500, 501, 502, 503, 504, 505]),
      tcp_failures: z.number().int().default(0),
      timeouts: z.number().int().default(0),
      http_failures: z.number().int().default(0),
    })
    .prefault({}),
});

const PassiveHealthcheckSchema = z.object({
  type: z.enum(['tcp', 'http', 'https', 'grpc', 'grpcs']).default('http'),
  healthy: z
    .object({
      http_statuses: statuses([
        200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
      ]),
      successes: z.number().int().default(0),
    })
    .prefault({}),
  unhealthy: z
    .object({
      http_statuses: statuses([429, 500, 503]),
      tcp_failures: z.number().int().default(0),
      timeouts: z.number().int().default(0),
      http_failures: z.number().int().default(0),
    })
    .prefault({}),
});

export const HealthchecksSchema = z.object({
  active: ActiveHealthcheckSchema.prefault({}),
  passive: PassiveHealthcheckSchema.prefault({}),
  threshold: z.number().default(0),
});

export const UpstreamSchema = z.object({
  id: z.string(),
  ...timestamps,
  name: z.string(),
  algorithm: z.enum(['consistent-hashing', 'least-connections', 'round-robin', 'latency']).default('round-robin'),
  hash_on: z.string().default('none'),
  hash_fallback: z.string().default('none'),
  hash_on_header: z.string().nullable().default(null),
  hash_fallback_header: z.string().nullable().default(null),
  hash_on_cookie: z.string().nullable().default(null),
  hash_on_cookie_path: z.string().default('/'),
  hash_on_query_arg: z.string().nullable().default(null),
  hash_fallback_query_arg: z.string().nullable().default(null),
  hash_on_uri_capture: z.string().nullable().default(null),
  hash_fallback_uri_capture: z.string().nullable().default(null),
  slots: z.number().int().default(10000),
  healthchecks: HealthchecksSchema.prefault({}),
  tags,
  host_header: z.string().nullable().default(null),
  client_certificate: foreignKey.nullable().default(null),
  use_srv_name: z.boolean().default(false),
});

export const TargetSchema = z.object({
  id: z.string(),
  ...timestamps,
  upstream: foreignKey,
  target: z.string(),
  weight: z.number().int().default(100),
  tags,
});

export const ConsumerSchema = z.object({
  id: z.string(),
  ...timestamps,
  username: z.string().nullable().default(null),
  custom_id: z.string().nullable().default(null),
  tags,
});

export const JwtCredentialSchema = z.object({
  id: z.string(),
  created_at: z.number().optional(),
  consumer: foreignKey,
  key: z.string(),
  secret: z.string(),
  rsa_public_key: z.string().nullable().default(null),
  algorithm: z
    .enum([
      'HS256',
      'HS384',
      'HS512',
      'RS256',
      'RS384',
      'RS512',
      'ES256',
      'ES384',
      'ES512',
      'PS256',
      'PS384',
      'PS512',
      'EdDSA',
    ])
    .default('HS256'),
  tags,
});

export const PluginSchema = z.object({
  id: z.string(),
  ...timestamps,
  name: z.string(),
  instance_name: z.string().nullable().default(null),
  route: foreignKey.nullable().default(null),
  service: foreignKey.nullable().default(null),
  consumer: foreignKey.nullable().default(null),
  config: z.record(z.string(), z.unknown()).default({}),
  protocols: z.array(z.string()).default(['grpc', 'grpcs', 'http', 'https']),
  enabled: z.boolean().default(true),
  tags,
});

/**
 * A CA certificate services trust for their upstream TLS (`ca_certificates`). Kong derives `cert_digest` from the
 * certificate on every write, so meshgate neither writes nor compares it.
 */
export const CaCertificateSchema = z.object({
  id: z.string(),
  ...timestamps,
  cert: z.string(),
  tags,
});

export type Service = z.infer<typeof ServiceSchema>;
export type Route = z.infer<typeof RouteSchema>;
export type Upstream = z.infer<typeof UpstreamSchema>;
export type Target = z.infer<typeof TargetSchema>;
export type Consumer = z.infer<typeof ConsumerSchema>;
export type JwtCredential = z.infer<typeof JwtCredentialSchema>;
export type Plugin = z.infer<typeof PluginSchema>;
export type CaCertificate = z.infer<typeof CaCertificateSchema>;

/** Every entity kind meshgate manages, with its schema. The order is the dependency order of creation. */
export const entitySchemas = {
  ca_certificate: CaCertificateSchema,
  consumer: ConsumerSchema,
  service: ServiceSchema,
  upstream: UpstreamSchema,
  jwt: JwtCredentialSchema,
  route: RouteSchema,
  target: TargetSchema,
  plugin: PluginSchema,
} as const;

export type EntityKind = keyof typeof entitySchemas;
export const entityKinds = Object.keys(entitySchemas) as EntityKind[];

export interface EntityByKind {
  service: Service;
  route: Route;
  upstream: Upstream;
  target: Target;
  consumer: Consumer;
  jwt: JwtCredential;
  plugin: Plugin;
  ca_certificate: CaCertificate;
}
export type AnyEntity = EntityByKind[EntityKind];

/** Input of an entity before defaults are filled (what translation writes). */
export type EntityInput<K extends EntityKind> = z.input<(typeof entitySchemas)[K]>;

/** A whole Kong configuration, one array per kind. */
export type KongState = { [K in EntityKind as `${K}s`]: EntityByKind[K][] };

export function emptyKongState(): KongState {
  return {
    ca_certificates: [],
    consumers: [],
    services: [],
    upstreams: [],
    jwts: [],
    routes: [],
    targets: [],
    plugins: [],
  };
}

/** Parses an entity of the given kind, filling Kong's defaults. */
export function normalizeEntity<K extends EntityKind>(kind: K, input: unknown): EntityByKind[K] {
  return entitySchemas[kind].parse(input) as EntityByKind[K];
}
