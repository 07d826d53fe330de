import { type EntityInput, normalizeEntity, type Service, type Upstream } from '../kong/entities.js';
import { entityId } from '../kong/ownership.js';
import type { Endpoint } from '../sources/model.js';
import {
  type DesiredState,
  type EntitySource,
  entityTags,
  type PendingEntity,
  refuse,
  sortedBy,
} from './desired-state.js';
import { targetAddress } from './kong-values.js';
import { weightOf } from './meshgate-tags.js';
import { DEFAULT_TARGET_POLICY, type TargetPolicy, targetHostProblem } from './target-policy.js';

export interface TranslateOptions {
  instance: string;
  /** Correlation header set on every exposed service; `off` disables the correlation-id plugin. */
  tracingHeader: string;
  /** Which instance addresses may become targets; the default allows private networks only. */
  targetPolicy?: TargetPolicy;
  /**
   * `opentelemetry`: every exposed service also gets Kong's OpenTelemetry plugin, sending spans to
   * `otlpTracesEndpoint` and carrying the trace on as W3C and AWS (X-Ray) headers. Default `correlation-id`.
   */
  tracing?: 'correlation-id' | 'opentelemetry';
  otlpTracesEndpoint?: string;
  /** PEM of the mesh's CA: an owned Kong CA certificate that every TLS service verifies its upstream against. */
  meshCaCertificate?: string;
  /** Path of the JWKS route at the edge (`/.well-known/jwks.json` by default in the config); none when unset. */
  jwksPath?: string;
}

export const TRACING_OFF = 'off';

/** What one exposed mesh object needs in Kong: a service and its route, named alike, plus its plugins. */
export interface ExposedService {
  name: string;
  source: EntitySource;
  service: Omit<EntityInput<'service'>, 'id' | 'name' | 'tags'>;
  route: Omit<EntityInput<'route'>, 'id' | 'name' | 'tags' | 'service'>;
  auth: 'jwt' | 'none';
}

/**
 * jwt plugin config with every field spelled out (Kong's defaults except the kid lookup and exp check), so the
 * desired config equals the one Kong returns.
 */
export const JWT_PLUGIN_CONFIG = {
  uri_param_names: ['jwt'],
  cookie_names: [],
  header_names: ['authorization'],
  key_claim_name: 'kid',
  secret_is_base64: false,
  claims_to_verify: ['exp'],
  anonymous: null,
  run_on_preflight: true,
  maximum_expiration: 0,
  realm: null,
} as const;

/**
 * opentelemetry config with every field as Kong 3.9 returns it. Extract and inject both W3C `traceparent` and AWS
 * `X-Amzn-Trace-Id`: App Mesh's Envoy traces with X-Ray, OpenTelemetry services with W3C, and both continue
 * Kong's span.
 */
export function opentelemetryConfig(tracesEndpoint: string) {
  return {
    traces_endpoint: tracesEndpoint,
    logs_endpoint: null,
    headers: null,
    resource_attributes: null,
    queue: {
      max_batch_size: 200,
      max_coalescing_delay: 1,
      max_entries: 10000,
      max_bytes: null,
      max_retry_time: 60,
      initial_retry_delay: 0.01,
      max_retry_delay: 60,
      concurrency_limit: 1,
    },
    batch_span_count: null,
    batch_flush_delay: null,
    connect_timeout: 1000,
    send_timeout: 5000,
    read_timeout: 5000,
    http_response_header_for_traceid: null,
    header_type: 'preserve',
    sampling_rate: null,
    propagation: { extract: ['w3c', 'aws'], clear: null, inject: ['w3c', 'aws'], default_format: 'w3c' },
  };
}

/** The one owned CA certificate entity: the mesh's CA, from Secrets Manager. */
export const MESH_CA_KEY = 'mesh';
export const meshCaId = (instance: string) => entityId(instance, 'ca_certificate', MESH_CA_KEY);

const VERIFIABLE_PROTOCOLS = new Set(['https']);

function correlationIdConfig(headerName: string) {
  return { header_name: headerName, generator: 'uuid', echo_downstream: true };
}

export function exposedServiceEntities(options: TranslateOptions, exposed: ExposedService): PendingEntity[] {
  const { instance } = options;
  const tags = entityTags(instance, exposed.source);
  // Kong's default leaves upstream TLS unverified; an https hop to the mesh is verified, against the mesh CA if
  // given. Kong allows tls_verify and ca_certificates on https services only: a grpcs hop is encrypted and verified
  // only as Kong's node-wide settings say (nginx_proxy_grpc_ssl_verify, lua_ssl_trusted_certificate).
  const tls = VERIFIABLE_PROTOCOLS.has(String(exposed.service.protocol))
    ? { tls_verify: true, ca_certificates: options.meshCaCertificate ? [meshCaId(instance)] : null }
    : {};
  const service = normalizeEntity('service', {
    ...exposed.service,
    ...tls,
    id: entityId(instance, 'service', exposed.name),
    name: exposed.name,
    tags,
  });
  const route = normalizeEntity('route', {
    ...exposed.route,
    id: entityId(instance, 'route', exposed.name),
    name: exposed.name,
    service: { id: service.id },
    tags,
  });
  const plugins: PendingEntity[] = [];
  if (exposed.auth === 'jwt') plugins.push(servicePlugin(instance, service, 'jwt', JWT_PLUGIN_CONFIG, tags));
  if (options.tracingHeader !== TRACING_OFF) {
    plugins.push(servicePlugin(instance, service, 'correlation-id', correlationIdConfig(options.tracingHeader), tags));
  }
  if (options.tracing === 'opentelemetry' && options.otlpTracesEndpoint) {
    plugins.push(
      servicePlugin(instance, service, 'opentelemetry', opentelemetryConfig(options.otlpTracesEndpoint), tags),
    );
  }
  return [
    { kind: 'service', key: exposed.name, entity: service },
    { kind: 'route', key: exposed.name, entity: route },
    ...plugins,
  ];
}

function servicePlugin(
  instance: string,
  service: Service,
  name: string,
  config: Record<string, unknown>,
  tags: string[],
): PendingEntity {
  const key = `${name}@${service.name}`;
  const entity = normalizeEntity('plugin', {
    id: entityId(instance, 'plugin', key),
    name,
    service: { id: service.id },
    config,
    tags,
  });
  return { kind: 'plugin', key, entity };
}

export function upstreamEntity(
  options: TranslateOptions,
  source: EntitySource,
  name: string,
  healthchecks?: EntityInput<'upstream'>['healthchecks'],
): { kind: 'upstream'; key: string; entity: Upstream } {
  const entity = normalizeEntity('upstream', {
    id: entityId(options.instance, 'upstream', name),
    name,
    healthchecks,
    tags: entityTags(options.instance, source),
  });
  return { kind: 'upstream', key: name, entity };
}

/**
 * One target per healthy endpoint. Each endpoint is its own source object (`<owner>/instances/<id>`): a bad
 * weight or address leaves out that target only.
 */
export function addTargets(
  state: DesiredState,
  options: TranslateOptions,
  source: EntitySource,
  upstream: Upstream,
  owner: string,
  endpoints: readonly Endpoint[],
): void {
  for (const endpoint of sortedBy(endpoints, (e) => e.instanceId)) {
    if (!endpoint.healthy) continue;
    state.add(`${owner}/instances/${endpoint.instanceId}`, () => {
      const field = `endpoints[${endpoint.instanceId}]`;
      const target = targetAddress(endpoint.host, endpoint.port, field);
      // Checked on the address as Kong will hold it, so no spelling (`010.0.0.1`, `::ffff:127.0.0.1`) slips by.
      const problem = targetHostProblem(
        target.slice(0, target.lastIndexOf(':')),
        options.targetPolicy ?? DEFAULT_TARGET_POLICY,
      );
      if (problem !== undefined) refuse(`${field}.host`, `${problem}; the target is refused`);
      const key = `${upstream.name}/${target}`;
      const entity = normalizeEntity('target', {
        id: entityId(options.instance, 'target', key),
        upstream: { id: upstream.id },
        target,
        weight: weightOf(endpoint.attributes, field),
        tags: entityTags(options.instance, source),
      });
      return [{ kind: 'target', key, entity }];
    });
  }
}
