import {
  type Consumer,
  emptyKongState,
  type JwtCredential,
  type KongState,
  normalizeEntity,
  type Plugin,
  type Route,
  type Service,
  type Target,
  type Upstream,
} from '../../shared/kong/entities.js';
import { entityId, ownershipTags } from '../../shared/kong/ownership.js';

export const INSTANCE = 'test';
export const TAGS = ownershipTags(INSTANCE);

export const service = (name: string, extra: Partial<Service> = {}): Service =>
  normalizeEntity('service', {
    id: entityId(INSTANCE, 'service', name),
    name,
    host: `${name}.internal`,
    tags: TAGS,
    ...extra,
  });

export const route = (name: string, serviceName: string, extra: Partial<Route> = {}): Route =>
  normalizeEntity('route', {
    id: entityId(INSTANCE, 'route', name),
    name,
    paths: [`/${name}`],
    service: { id: entityId(INSTANCE, 'service', serviceName) },
    tags: TAGS,
    ...extra,
  });

export const upstream = (name: string, extra: Partial<Upstream> = {}): Upstream =>
  normalizeEntity('upstream', { id: entityId(INSTANCE, 'upstream', name), name, tags: TAGS, ...extra });

export const target = (upstreamName: string, address: string, extra: Partial<Target> = {}): Target =>
  normalizeEntity('target', {
    id: entityId(INSTANCE, 'target', `${upstreamName}/${address}`),
    upstream: { id: entityId(INSTANCE, 'upstream', upstreamName) },
    target: address,
    tags: TAGS,
    ...extra,
  });

export const consumer = (username: string, extra: Partial<Consumer> = {}): Consumer =>
  normalizeEntity('consumer', { id: entityId(INSTANCE, 'consumer', username), username, tags: TAGS, ...extra });

export const jwt = (username: string, key: string, extra: Partial<JwtCredential> = {}): JwtCredential =>
  normalizeEntity('jwt', {
    id: entityId(INSTANCE, 'jwt', key),
    consumer: { id: entityId(INSTANCE, 'consumer', username) },
    key,
    secret: `secret-${key}`,
    algorithm: 'ES256',
    tags: TAGS,
    ...extra,
  });

/** Plugin configs are written whole, as Kong returns them (translation does the same): the diff compares them as is. */
export const correlationConfig = (header: string, echo = false) => ({
  header_name: header,
  generator: 'uuid#counter',
  echo_downstream: echo,
});

export const servicePlugin = (name: string, serviceName: string, extra: Partial<Plugin> = {}): Plugin =>
  normalizeEntity('plugin', {
    id: entityId(INSTANCE, 'plugin', `${name}/service/${serviceName}`),
    name,
    service: { id: entityId(INSTANCE, 'service', serviceName) },
    protocols: ['http', 'https'],
    tags: TAGS,
    ...extra,
  });

export function state(parts: Partial<KongState>): KongState {
  return { ...emptyKongState(), ...parts };
}

/** One owned entity of every kind meshgate writes (a service with its route, plugin, upstream and target; a consumer and its key). */
export const oneOfEachKind = (): KongState =>
  state({
    services: [service('orders')],
    routes: [route('orders', 'orders')],
    upstreams: [upstream('orders.upstream')],
    targets: [target('orders.upstream', '10.0.0.1:8080')],
    plugins: [servicePlugin('correlation-id', 'orders', { config: correlationConfig('x-request-id') })],
    consumers: [consumer('alice')],
    jwts: [jwt('alice', 'alice-1', { algorithm: 'HS256' })],
  });
