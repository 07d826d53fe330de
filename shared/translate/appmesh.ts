import type { EntityInput, Upstream } from '../kong/entities.js';
import type {
  Gateway,
  GatewayRoute,
  HeaderMatch,
  HealthCheck,
  Listener,
  MeshSnapshot,
  RouteMatch,
} from '../sources/model.js';
import { type DesiredState, type PendingEntity, reject, sortedBy } from './desired-state.js';
import { addTargets, exposedServiceEntities, type TranslateOptions, upstreamEntity } from './exposure.js';
import {
  checkName,
  checkPrefixPath,
  checkRegex,
  checkRouteHost,
  checkUpstreamName,
  escapeRegex,
} from './kong-values.js';
import { authOf, isExposed, type TagLayer } from './meshgate-tags.js';

export const gatewayObject = (gateway: { mesh: string; name: string }) => `appmesh:${gateway.mesh}/${gateway.name}`;
export const gatewayRouteObject = (route: GatewayRoute) => `appmesh:${route.mesh}/${route.gateway}/${route.name}`;

/** Kong upstream of a virtual gateway; a hostname, so `<gateway>.<mesh>.gateway`. */
export const gatewayUpstreamName = (gateway: { mesh: string; name: string }) =>
  `${gateway.name}.${gateway.mesh}.gateway`;

// What became of each gateway, so its routes know whether to follow it, opt out with it, or fail.
type GatewayOutcome = { kind: 'translated'; gateway: Gateway } | { kind: 'failed' } | { kind: 'opted-out' };

/**
 * Virtual gateways become upstreams (their instances the targets); gateway routes become a service pointing at
 * that upstream plus a route. Kong hands requests to the gateway unchanged: the gateway's Envoy then applies its
 * own route matching, rewrites and forwarding to the virtual service.
 */
export function translateAppMesh(state: DesiredState, mesh: MeshSnapshot, options: TranslateOptions): void {
  const outcomes = new Map<string, GatewayOutcome>();
  for (const gateway of sortedBy(mesh.gateways, gatewayObject)) {
    const object = gatewayObject(gateway);
    if (outcomes.has(object)) {
      state.fail(object, undefined, `virtual gateway '${gateway.mesh}/${gateway.name}' appears twice in the snapshot`);
      continue;
    }
    outcomes.set(object, translateGateway(state, gateway, options));
  }

  const virtualServices = new Map(mesh.virtualServices.map((vs) => [`${vs.mesh}/${vs.name}`, vs]));
  for (const route of sortedBy(mesh.gatewayRoutes, gatewayRouteObject)) {
    state.add(gatewayRouteObject(route), () => {
      const outcome = outcomes.get(gatewayObject({ mesh: route.mesh, name: route.gateway }));
      if (outcome === undefined) {
        reject('gateway', `virtual gateway '${route.mesh}/${route.gateway}' is not in the snapshot`);
      }
      if (outcome.kind === 'opted-out') return [];
      if (outcome.kind === 'failed') {
        reject('gateway', `virtual gateway '${route.mesh}/${route.gateway}' could not be translated`);
      }
      const virtualService = virtualServices.get(`${route.mesh}/${route.target.virtualService}`);
      if (virtualService === undefined) {
        reject(
          'target.virtualService',
          `virtual service '${route.mesh}/${route.target.virtualService}' is not in the snapshot`,
        );
      }
      const layers: TagLayer[] = [
        { label: `gateway route '${route.name}'`, tags: route.tags },
        { label: `virtual service '${virtualService.name}'`, tags: virtualService.tags },
        { label: `virtual gateway '${route.gateway}'`, tags: outcome.gateway.tags },
      ];
      if (!isExposed(layers)) return [];
      return gatewayRouteEntities(route, outcome.gateway, layers, options);
    });
  }
}

function translateGateway(state: DesiredState, gateway: Gateway, options: TranslateOptions): GatewayOutcome {
  const object = gatewayObject(gateway);
  let upstream: Upstream | undefined;
  const added = state.add(object, () => {
    if (!isExposed([{ label: `virtual gateway '${gateway.name}'`, tags: gateway.tags }])) return [];
    const name = checkUpstreamName(gatewayUpstreamName(gateway), 'name');
    const checked = sortedListeners(gateway).find((listener) => listener.healthCheck);
    const healthCheck = checked?.healthCheck;
    const checkedTls = checked?.tlsMode === 'STRICT' || checked?.tlsMode === 'PERMISSIVE';
    const pending = upstreamEntity(
      options,
      'appmesh',
      name,
      healthCheck && activeHealthchecks(healthCheck, checkedTls),
    );
    upstream = pending.entity;
    return [pending];
  });
  if (!added) return { kind: 'failed' };
  if (upstream === undefined) return { kind: 'opted-out' };
  addTargets(state, options, 'appmesh', upstream, object, gateway.endpoints);
  return { kind: 'translated', gateway };
}

const sortedListeners = (gateway: Gateway) => [...gateway.listeners].sort((a, b) => a.port - b.port);

// Kong has no http2 check type: an http2 listener is probed over HTTP/1.1.
const HEALTHCHECK_TYPE = { http: 'http', http2: 'http', grpc: 'grpc', tcp: 'tcp' } as const;

/** App Mesh counts milliseconds and thresholds; Kong counts seconds and uses the thresholds for every kind of failure. */
function activeHealthchecks(check: HealthCheck, tls: boolean): EntityInput<'upstream'>['healthchecks'] {
  const interval = check.intervalMillis / 1000;
  const failures = check.unhealthyThreshold;
  const type = HEALTHCHECK_TYPE[check.protocol];
  return {
    active: {
      type: tls && type !== 'tcp' ? (type === 'grpc' ? 'grpcs' : 'https') : type,
      // Kong's active probes trust only the node-wide CA store (lua_ssl_trusted_certificate), never the service's
      // ca_certificates: verifying them against a private mesh CA would mark every instance down. Proxied traffic
      // is still verified against the mesh CA.
      ...(tls ? { https_verify_certificate: false } : {}),
      http_path: check.path ?? '/',
      timeout: check.timeoutMillis / 1000,
      healthy: { interval, successes: check.healthyThreshold },
      unhealthy: { interval, http_failures: failures, tcp_failures: failures, timeouts: failures },
    },
  };
}

/** The listener a route is reached on: the one its match names by port, else the lowest port of its protocol. */
function listenerFor(route: GatewayRoute, gateway: Gateway): Listener {
  const listeners = sortedListeners(gateway);
  if (route.match.port !== undefined) {
    return (
      listeners.find((listener) => listener.port === route.match.port) ??
      reject('match.port', `port ${route.match.port} is not a listener port of virtual gateway '${gateway.name}'`)
    );
  }
  return (
    listeners.find((listener) => listener.protocol === route.protocol) ??
    reject('protocol', `virtual gateway '${gateway.name}' has no ${route.protocol} listener`)
  );
}

// Match fields App Mesh defines per route protocol; a field set for the other protocol is a malformed route.
const MATCH_FIELDS: Record<'http' | 'grpc', (keyof RouteMatch)[]> = {
  http: ['prefix', 'path', 'hostname', 'method', 'headers', 'queryParameters', 'port'],
  grpc: ['serviceName', 'hostname', 'metadata', 'port'],
};

function gatewayRouteEntities(
  route: GatewayRoute,
  gateway: Gateway,
  layers: TagLayer[],
  options: TranslateOptions,
): PendingEntity[] {
  const name = checkName(`${route.mesh}.${route.gateway}.${route.name}`, 'name');
  const protocol = route.protocol === 'grpc' ? 'grpc' : 'http';
  const { match } = route;
  for (const key of Object.keys(match) as (keyof RouteMatch)[]) {
    if (match[key] !== undefined && !MATCH_FIELDS[protocol].includes(key)) {
      reject(`match.${key}`, `match.${key} does not apply to a ${route.protocol} gateway route`);
    }
  }
  if (match.queryParameters?.length) {
    reject(
      'match.queryParameters',
      `query parameter matches (${names(match.queryParameters)}) cannot be expressed in Kong`,
    );
  }
  const listener = listenerFor(route, gateway);
  const tls = listener.tlsMode === 'STRICT' || listener.tlsMode === 'PERMISSIVE';
  const hosts = hostsOf(match);
  const common = {
    hosts,
    headers: headersOf(
      protocol === 'grpc' ? match.metadata : match.headers,
      protocol === 'grpc' ? 'match.metadata' : 'match.headers',
    ),
    regex_priority: regexPriority(route.priority),
    // Only the gateway knows its hostname matches; it needs the client's Host to apply them.
    preserve_host: hosts !== null,
    // The gateway applies the route's rewrite itself, so it must see the path as the client sent it.
    strip_path: false,
  };
  const routeInput =
    protocol === 'grpc'
      ? { ...common, protocols: ['grpc', 'grpcs'], paths: [match.serviceName ? `/${match.serviceName}/` : '/'] }
      : { ...common, protocols: ['http', 'https'], paths: httpPathsOf(match), methods: methodsOf(match) };
  if (
    !routeInput.paths &&
    !routeInput.hosts &&
    !routeInput.headers &&
    !('methods' in routeInput && routeInput.methods)
  ) {
    reject('match', `gateway route '${route.name}' matches no path, hostname, method or header`);
  }
  return exposedServiceEntities(options, {
    name,
    source: 'appmesh',
    // A TLS listener (STRICT, or PERMISSIVE which also takes TLS) is reached over TLS, verified (exposure.ts).
    service: {
      host: gatewayUpstreamName(gateway),
      port: listener.port,
      protocol: tls ? (protocol === 'grpc' ? 'grpcs' : 'https') : protocol,
    },
    route: routeInput,
    auth: authOf(layers),
  });
}

const names = (items: { name: string }[]) => items.map((item) => `'${item.name}'`).join(', ');

function httpPathsOf(match: RouteMatch): string[] | null {
  if (match.prefix !== undefined && match.path !== undefined) {
    reject('match.path', 'a gateway route matches either a prefix or a path, not both');
  }
  if (match.prefix !== undefined) return [checkPrefixPath(match.prefix, 'match.prefix')];
  if (match.path?.exact !== undefined) {
    checkPrefixPath(match.path.exact, 'match.path.exact');
    return [`~${escapeRegex(match.path.exact)}$`];
  }
  // App Mesh (Envoy) matches the whole path against the regex; Kong anchors only the start.
  if (match.path?.regex !== undefined) {
    checkRegex(match.path.regex, 'match.path.regex');
    return [`~(?:${match.path.regex})$`];
  }
  return null;
}

function hostsOf(match: RouteMatch): string[] | null {
  const { hostname } = match;
  if (hostname?.exact !== undefined) return [checkRouteHost(hostname.exact, 'match.hostname.exact')];
  if (hostname?.suffix !== undefined) {
    return [checkRouteHost(`*.${hostname.suffix.replace(/^\./, '')}`, 'match.hostname.suffix')];
  }
  return null;
}

const METHOD = /^[A-Z]+$/;

function methodsOf(match: RouteMatch): string[] | null {
  if (match.method === undefined) return null;
  if (!METHOD.test(match.method)) reject('match.method', `method '${match.method}' is not an upper-case HTTP method`);
  return [match.method];
}

/**
 * Kong header matching: a list of exact values, or `~*` and a regex (case-insensitive, like exact values). App
 * Mesh matches exactly and case-sensitively; matching is looser in Kong, never stricter. Every regex is anchored
 * both ends because App Mesh matches the whole value.
 */
function headersOf(matches: HeaderMatch[] | undefined, field: string): Record<string, string[]> | null {
  if (!matches?.length) return null;
  const headers: Record<string, string[]> = {};
  for (const header of sortedBy(matches, (h) => h.name)) {
    const name = header.name.toLowerCase();
    const at = `${field}[${header.name}]`;
    if (name === 'host') reject(at, "Kong routes cannot match the 'host' header; use a hostname match");
    if (headers[name]) reject(at, `header '${header.name}' is matched twice; Kong ORs values of one header`);
    if (header.invert) reject(`${at}.invert`, `inverted match on header '${header.name}' cannot be expressed in Kong`);
    headers[name] = [headerValue(header, at)];
  }
  return headers;
}

function headerValue({ name, match }: HeaderMatch, field: string): string {
  if (match === undefined) return '~*^.*$'; // App Mesh: the header is present, with any value
  if (match.range !== undefined)
    reject(`${field}.range`, `range match on header '${name}' cannot be expressed in Kong`);
  if (match.exact !== undefined) {
    // A literal starting with ~* would read as a regex; say the same thing as an anchored regex instead.
    return match.exact.startsWith('~*') ? `~*^${escapeRegex(match.exact)}$` : match.exact;
  }
  if (match.prefix !== undefined) return `~*^${escapeRegex(match.prefix)}`;
  if (match.suffix !== undefined) return `~*${escapeRegex(match.suffix)}$`;
  if (match.regex !== undefined) {
    checkRegex(match.regex, `${field}.regex`);
    return `~*^(?:${match.regex})$`;
  }
  return reject(field, `header '${name}' has an empty match`);
}

/**
 * App Mesh: priority 0..1000, lower wins, unset loses to any set priority. Kong: higher regex_priority wins, default
 * 0. So priority p becomes 1001 - p, and unset stays 0.
 */
function regexPriority(priority: number | undefined): number {
  if (priority === undefined) return 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 1000) {
    reject('priority', `priority ${priority} is not in 0..1000`);
  }
  return 1001 - priority;
}
