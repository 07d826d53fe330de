import { randomBytes, randomUUID } from 'node:crypto';
import type { Entity } from '../schemas/index.js';

/**
 * The access phase of the plugins meshgate writes, as Kong 3.9 runs them on the proxy path: correlation-id
 * (PRIORITY 100001), jwt (1450), opentelemetry (14, trace context only), request-termination (2). Each takes the
 * request state and either changes what goes upstream or ends the request.
 */

export interface ProxyState {
  /** Headers sent upstream (lower-case names). */
  upstreamHeaders: Record<string, string | string[]>;
  /** Headers added to the response to the client. */
  responseHeaders: Record<string, string>;
  query: URLSearchParams;
  /** The client's headers (lower-case names), as received. */
  clientHeaders: Record<string, string | string[] | undefined>;
}

export type Exit = { status: number; body?: unknown; raw?: string; headers?: Record<string, string> };

/**
 * Kong's plugin iterator: per plugin name the most specific enabled instance (route over service over global;
 * meshgate writes no consumer-scoped plugins), run by descending PRIORITY.
 */
export function pluginsFor(plugins: Iterable<Entity>, routeId: string, serviceId: string | undefined): Entity[] {
  const rank = (plugin: Entity) => {
    const route = (plugin.route as { id?: string } | null)?.id;
    const service = (plugin.service as { id?: string } | null)?.id;
    if (plugin.consumer) return -1;
    if (route !== undefined) return route === routeId && service === undefined ? 3 : -1;
    if (service !== undefined) return service === serviceId ? 2 : -1;
    return 1;
  };
  const chosen = new Map<string, { plugin: Entity; rank: number }>();
  for (const plugin of plugins) {
    if (plugin.enabled === false) continue;
    const value = rank(plugin);
    if (value < 0) continue;
    const name = String(plugin.name);
    const current = chosen.get(name);
    if (!current || value > current.rank) chosen.set(name, { plugin, rank: value });
  }
  return [...chosen.values()]
    .map(({ plugin }) => plugin)
    .sort((a, b) => (PRIORITY[String(b.name)] ?? 0) - (PRIORITY[String(a.name)] ?? 0));
}

export const PRIORITY: Record<string, number> = {
  'correlation-id': 100001,
  jwt: 1450,
  opentelemetry: 14,
  'request-termination': 2,
};

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export function correlationId(config: Record<string, unknown>, state: ProxyState): void {
  const name = String(config.header_name ?? 'Kong-Request-ID').toLowerCase();
  let value = first(state.clientHeaders[name]);
  if (!value) {
    // generator 'uuid' (default), 'uuid#counter' and 'tracker' all yield a fresh id per request here.
    value = randomUUID();
    state.upstreamHeaders[name] = value;
  }
  if (config.echo_downstream === true) state.responseHeaders[String(config.header_name)] = value;
}

/** The jwt plugin's token lookup (retrieve_tokens): query args, cookies, then `Bearer` in the named headers. */
function tokensOf(config: Record<string, unknown>, state: ProxyState): string[] {
  const tokens = new Set<string>();
  for (const name of (config.uri_param_names as string[] | undefined) ?? []) {
    for (const value of state.query.getAll(name)) if (value !== '') tokens.add(value);
  }
  const cookies = first(state.clientHeaders.cookie) ?? '';
  for (const name of (config.cookie_names as string[] | undefined) ?? []) {
    const found = cookies
      .split(';')
      .map((pair) => pair.trim().split('='))
      .find(([key]) => key === name);
    if (found?.[1]) tokens.add(found.slice(1).join('='));
  }
  for (const name of (config.header_names as string[] | undefined) ?? []) {
    const value = first(state.clientHeaders[name.toLowerCase()]);
    const bearer = value === undefined ? undefined : /\s*[Bb]earer\s+(.+)/.exec(value)?.[1];
    if (bearer) tokens.add(bearer);
  }
  return [...tokens];
}

export type VerifyJwt = (
  token: string,
  keyClaimName: string,
) =>
  | { ok: true; consumer: { id: string; username: string | null; custom_id?: string | null }; key: string }
  | { ok: false; status: number; message: string };

const CONSUMER_HEADERS = ['x-consumer-id', 'x-consumer-custom-id', 'x-consumer-username', 'x-credential-identifier'];

/** jwt access: one token, verified against the credentials; the consumer's identity goes upstream (set_consumer). */
export function jwt(
  config: Record<string, unknown>,
  state: ProxyState,
  verify: VerifyJwt,
  consumerOf: (id: string) => Entity | undefined,
): Exit | undefined {
  const realm = config.realm ? ` realm="${String(config.realm)}"` : ' realm="kong"';
  const base = `Bearer${realm}`;
  const tokens = tokensOf(config, state);
  const unauthorized = (message: string, withError = true): Exit => ({
    status: 401,
    body: { message },
    headers: { 'WWW-Authenticate': withError ? `${base} error="invalid_token"` : base },
  });
  if (tokens.length === 0) return unauthorized('Unauthorized', false);
  if (tokens.length > 1) return unauthorized('Multiple tokens provided');
  const result = verify(tokens[0] as string, String(config.key_claim_name ?? 'iss'));
  if (!result.ok) return result.status === 401 ? unauthorized(result.message) : { status: result.status };
  const consumer = consumerOf(result.consumer.id);
  // Kong sets each header it has a value for and clears the others, so a client cannot smuggle an identity in.
  for (const header of CONSUMER_HEADERS) delete state.upstreamHeaders[header];
  state.upstreamHeaders['x-consumer-id'] = result.consumer.id;
  if (consumer?.custom_id) state.upstreamHeaders['x-consumer-custom-id'] = String(consumer.custom_id);
  if (consumer?.username) state.upstreamHeaders['x-consumer-username'] = String(consumer.username);
  state.upstreamHeaders['x-credential-identifier'] = result.key;
  delete state.upstreamHeaders['x-anonymous-consumer'];
  return undefined;
}

const DEFAULT_MESSAGES: Record<number, string> = {
  200: 'OK',
  403: 'Forbidden',
  404: 'Not found',
  503: 'Service unavailable',
};

/** request-termination access: a fixed `body` with its content type, or `{message}`. */
export function requestTermination(config: Record<string, unknown>, state: ProxyState): Exit | undefined {
  const trigger = config.trigger as string | null | undefined;
  if (trigger && state.clientHeaders[trigger.toLowerCase()] === undefined && !state.query.has(trigger)) return;
  const status = Number(config.status_code ?? 503);
  if (typeof config.body === 'string') {
    return { status, raw: config.body, headers: { 'Content-Type': String(config.content_type ?? 'application/json') } };
  }
  const message = (config.message as string | null | undefined) ?? DEFAULT_MESSAGES[status];
  return message === undefined ? { status } : { status, body: { message } };
}

interface TraceContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

function extractW3c(headers: ProxyState['clientHeaders']): TraceContext | undefined {
  const found = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(first(headers.traceparent) ?? '');
  if (!found || /^0+$/.test(found[1] as string)) return undefined;
  return {
    traceId: found[1] as string,
    spanId: found[2] as string,
    sampled: (Number.parseInt(found[3] as string, 16) & 1) === 1,
  };
}

function extractAws(headers: ProxyState['clientHeaders']): TraceContext | undefined {
  const value = first(headers['x-amzn-trace-id']) ?? '';
  const parts = Object.fromEntries(value.split(';').map((part) => part.trim().split('=') as [string, string]));
  const root = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/.exec(parts.Root ?? '');
  if (!root || !/^[0-9a-f]{16}$/.test(parts.Parent ?? '')) return undefined;
  return { traceId: `${root[1]}${root[2]}`, spanId: parts.Parent as string, sampled: parts.Sampled !== '0' };
}

/**
 * opentelemetry access, trace context only: continue the first context found by the `extract` formats (or start
 * a trace), open Kong's proxy span, and inject it in every `inject` format (`preserve`: the format it came in,
 * else `default_format`). Spans are not exported by the double.
 */
export function opentelemetry(config: Record<string, unknown>, state: ProxyState): TraceContext {
  const propagation = (config.propagation ?? {}) as { extract?: string[]; inject?: string[]; default_format?: string };
  let incoming: { context: TraceContext; format: string } | undefined;
  for (const format of propagation.extract ?? []) {
    const context =
      format === 'w3c'
        ? extractW3c(state.clientHeaders)
        : format === 'aws'
          ? extractAws(state.clientHeaders)
          : undefined;
    if (context) {
      incoming = { context, format };
      break;
    }
  }
  const context: TraceContext = {
    traceId: incoming?.context.traceId ?? randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    sampled: incoming?.context.sampled ?? true,
  };
  const formats = (propagation.inject ?? ['preserve']).map((format) =>
    format === 'preserve' ? (incoming?.format ?? propagation.default_format ?? 'w3c') : format,
  );
  for (const format of new Set(formats)) {
    if (format === 'w3c') {
      state.upstreamHeaders.traceparent = `00-${context.traceId}-${context.spanId}-${context.sampled ? '01' : '00'}`;
    }
    if (format === 'aws') {
      state.upstreamHeaders['x-amzn-trace-id'] =
        `Root=1-${context.traceId.slice(0, 8)}-${context.traceId.slice(8)};Parent=${context.spanId};Sampled=${context.sampled ? '1' : '0'}`;
    }
  }
  return context;
}
