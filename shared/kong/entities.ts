import * as z from '../zod.js';

/**
 * Kong 3.9 entities as the Admin API returns them, with Kong's defaults (reference §5). Parsing a partial entity
 * fills the defaults, so a desired entity and a dumped one normalize to the same shape and compare field by field.
 * Unknown keys are stripped: meshgate compares and writes only the fields listed here.
 */

const tags = z._default(z.nullable(z.array(z.string())), null);
const foreignKey = z.object({ id: z.string() });
const timestamps = {
  created_at: z.optional(z.number()),
  updated_at: z.optional(z.number()),
};

export const ServiceSchema = z.object({
  id: z.string(),
  ...timestamps,
  name: z._default(z.nullable(z.string()), null),
  retries: z._default(z.int(), 5),
  protocol: z._default(z.enum(['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp']), 'http'),
  host: z.string(),
  port: z._default(z.int(), 80),
  path: z._default(z.nullable(z.string()), null),
  connect_timeout: z._default(z.int(), 60000),
  write_timeout: z._default(z.int(), 60000),
  read_timeout: z._default(z.int(), 60000),
  tags,
  client_certificate: z._default(z.nullable(foreignKey), null),
  tls_verify: z._default(z.nullable(z.boolean()), null),
  tls_verify_depth: z._default(z.nullable(z.int()), null),
  ca_certificates: z._default(z.nullable(z.array(z.string())), null),
  enabled: z._default(z.boolean(), true),
});

export const RouteSchema = z.object({
  id: z.string(),
  ...timestamps,
  name: z._default(z.nullable(z.string()), null),
  protocols: z._default(z.array(z.string()), ['http', 'https']),
  methods: z._default(z.nullable(z.array(z.string())), null),
  hosts: z._default(z.nullable(z.array(z.string())), null),
  paths: z._default(z.nullable(z.array(z.string())), null),
  headers: z._default(z.nullable(z.record(z.string(), z.array(z.string()))), null),
  https_redirect_status_code: z._default(z.int(), 426),
  regex_priority: z._default(z.int(), 0),
  strip_path: z._default(z.boolean(), true),
  path_handling: z._default(z.enum(['v0', 'v1']), 'v0'),
  preserve_host: z._default(z.boolean(), false),
  request_buffering: z._default(z.boolean(), true),
  response_buffering: z._default(z.boolean(), true),
  snis: z._default(z.nullable(z.array(z.string())), null),
  sources: z._default(
    z.nullable(z.array(z.object({ ip: z.optional(z.string()), port: z.optional(z.number()) }))),
    null,
  ),
  destinations: z._default(
    z.nullable(z.array(z.object({ ip: z.optional(z.string()), port: z.optional(z.number()) }))),
    null,
  ),
  tags,
  service: z._default(z.nullable(foreignKey), null),
});

const statuses = (values: number[]) => z._default(z.array(z.int()), values);

const ActiveHealthcheckSchema = z.object({
  type: z._default(z.enum(['tcp', 'http', 'https', 'grpc', 'grpcs']), 'http'),
  timeout: z._default(z.number(), 1),
  concurrency: z._default(z.int(), 10),
  http_path: z._default(z.string(), '/'),
  https_sni: z._default(z.nullable(z.string()), null),
  https_verify_certificate: z._default(z.boolean(), true),
  headers: z._default(z.nullable(z.record(z.string(), z.array(z.string()))), null),
  healthy: z.prefault(
    z.object({
      interval: z._default(z.number(), 0),
      http_statuses: statuses([200, 302]),
      successes: z._default(z.int(), 0),
    }),
    {},
  ),
  unhealthy: z.prefault(
    z.object({
      interval: z._default(z.number(), 0),
      http_statuses: statuses([429, 404, 500, 501, 502, 503, 504, 505]),
      tcp_failures: z._default(z.int(), 0),
      timeouts: z._default(z.int(), 0),
      http_failures: z._default(z.int(), 0),
    }),
    {},
  ),
});

const PassiveHealthcheckSchema = z.object({
  type: z._default(z.enum(['tcp', 'http', 'https', 'grpc', 'grpcs']), 'http'),
  healthy: z.prefault(
    z.object({
      http_statuses: statuses([
        200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
      ]),
      successes: z._default(z.int(), 0),
    }),
    {},
  ),
  unhealthy: z.prefault(
    z.object({
      http_statuses: statuses([429, 500, 503]),
      tcp_failures: z._default(z.int(), 0),
      timeouts: z._default(z.int(), 0),
      http_failures: z._default(z.int(), 0),
    }),
    {},
  ),
});

export const HealthchecksSchema = z.object({
  active: z.prefault(ActiveHealthcheckSchema, {}),
  passive: z.prefault(PassiveHealthcheckSchema, {}),
  threshold: z._default(z.number(), 0),
});

export const UpstreamSchema = z.object({
  id: z.string(),
  ...timestamps,
  name: z.string(),
  algorithm: z._default(z.enum(['consistent-hashing', 'least-connections', 'round-robin', 'latency']), 'round-robin'),
  hash_on: z._default(z.string(), 'none'),
  hash_fallback: z._default(z.string(), 'none'),
  hash_on_header: z._default(z.nullable(z.string()), null),
  hash_fallback_header: z._default(z.nullable(z.string()), null),
  hash_on_cookie: z._default(z.nullable(z.string()), null),
  hash_on_cookie_path: z._default(z.string(), '/'),
  hash_on_query_arg: z._default(z.nullable(z.string()), null),
  hash_fallback_query_arg: z._default(z.nullable(z.string()), null),
  hash_on_uri_capture: z._default(z.nullable(z.string()), null),
  hash_fallback_uri_capture: z._default(z.nullable(z.string()), null),
  slots: z._default(z.int(), 10000),
  healthchecks: z.prefault(HealthchecksSchema, {}),
  tags,
  host_header: z._default(z.nullable(z.string()), null),
  client_certificate: z._default(z.nullable(foreignKey), null),
  use_srv_name: z._default(z.boolean(), false),
});

export const TargetSchema = z.object({
  id: z.string(),
  ...timestamps,
  upstream: foreignKey,
  target: z.string(),
  weight: z._default(z.int(), 100),
  tags,
});

export const ConsumerSchema = z.object({
  id: z.string(),
  ...timestamps,
  username: z._default(z.nullable(z.string()), null),
  custom_id: z._default(z.nullable(z.string()), null),
  tags,
});

export const JwtCredentialSchema = z.object({
  id: z.string(),
  created_at: z.optional(z.number()),
  consumer: foreignKey,
  key: z.string(),
  secret: z.string(),
  rsa_public_key: z._default(z.nullable(z.string()), null),
  algorithm: z._default(
    z.enum([
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
    ]),
    'HS256',
  ),
  tags,
});

export const PluginSchema = z.object({
  id: z.string(),
  ...timestamps,
  name: z.string(),
  instance_name: z._default(z.nullable(z.string()), null),
  route: z._default(z.nullable(foreignKey), null),
  service: z._default(z.nullable(foreignKey), null),
  consumer: z._default(z.nullable(foreignKey), null),
  config: z._default(z.record(z.string(), z.unknown()), {}),
  protocols: z._default(z.array(z.string()), ['grpc', 'grpcs', 'http', 'https']),
  enabled: z._default(z.boolean(), true),
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

/**
 * The entities normalizeEntity returned, with their kind. Normalizing is idempotent, so one of these is returned as it
 * is rather than copied: a diff normalizes every desired entity, and at 10,000 services a second copy of the desired
 * state is ≈ 30 MB of peak memory. Entities are never mutated once built (changes build new objects).
 */
const normalized = new WeakMap<object, EntityKind>();

/**
 * `entity` with other tags. A normalized entity stays normalized with another tag set (tags are a plain set of
 * strings), so the copy is marked as one: translation tags every entity with its source object, and without the
 * mark the diff parsed every created entity again (a second copy of the desired state at the peak of a large sync).
 */
export function withTags<E extends AnyEntity>(entity: E, tags: string[]): E {
  const tagged = { ...entity, tags };
  const kind = normalized.get(entity);
  if (kind !== undefined) normalized.set(tagged, kind);
  return tagged;
}

/** Parses an entity of the given kind, filling Kong's defaults. */
export function normalizeEntity<K extends EntityKind>(kind: K, input: unknown): EntityByKind[K] {
  if (typeof input === 'object' && input !== null && normalized.get(input) === kind) return input as EntityByKind[K];
  const entity = entitySchemas[kind].parse(input) as EntityByKind[K];
  normalized.set(entity, kind);
  return entity;
}
