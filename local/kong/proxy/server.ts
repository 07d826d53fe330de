import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KONG_VERSION } from '../handlers.js';
import type { Entity } from '../schemas/index.js';
import type { KongStore } from '../store.js';
import {
  correlationId,
  type Exit,
  jwt,
  opentelemetry,
  type ProxyState,
  pluginsFor,
  requestTermination,
  type VerifyJwt,
} from './plugins.js';
import { buildRouter, type RouteLike, upstreamUri } from './router.js';

/**
 * Kong's proxy port over the double's store: routes a real HTTP request as Kong 3.9 does for what meshgate writes
 * (see router.ts), runs the modelled plugins (plugins.ts), balances over the upstream's targets by weight and
 * forwards over http or https (`tls_verify` against the service's `ca_certificates`).
 */
export interface KongProxy {
  readonly url: string;
  readonly port: number;
  /**
   * Kong's view of the network: a target as Kong holds it (`10.0.9.1:8443`, an address in the VPC) → where that
   * listens on this machine. Targets not listed are connected to as written.
   */
  readonly network: Map<string, { host: string; port: number }>;
  close(): Promise<void>;
}

export interface ProxyOptions {
  port?: number;
  verifyJwt: VerifyJwt;
  /** PEM of a CA certificate entity by id (undefined when absent). */
  caCertificate(id: string): string | undefined;
}

// RFC 7230 §6.1 hop-by-hop headers: never forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, grpc: 80, grpcs: 443 };

function kongError(status: number, message: string, headers: Record<string, string> = {}): Exit {
  return { status, body: { message, request_id: randomBytes(16).toString('hex') }, headers };
}

/** Weighted round robin per upstream (Kong's default `round-robin` algorithm); weight 0 targets never chosen. */
class Balancer {
  private readonly counters = new Map<string, number>();

  pick(upstreamId: string, targets: Entity[]): Entity | undefined {
    const live = targets
      .filter((target) => Number(target.weight ?? 100) > 0)
      .sort((a, b) => String(a.target).localeCompare(String(b.target)));
    const total = live.reduce((sum, target) => sum + Number(target.weight ?? 100), 0);
    if (total === 0) return undefined;
    const tick = this.counters.get(upstreamId) ?? 0;
    this.counters.set(upstreamId, tick + 1);
    let slot = tick % total;
    for (const target of live) {
      slot -= Number(target.weight ?? 100);
      if (slot < 0) return target;
    }
    return live[0];
  }
}

function splitTarget(target: string): { host: string; port: number } {
  const found = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
  return found
    ? { host: (found[1] as string).replace(/^\[|\]$/g, ''), port: Number(found[2]) }
    : { host: target, port: 8000 };
}

export async function startKongProxy(store: KongStore, options: ProxyOptions): Promise<KongProxy> {
  const balancer = new Balancer();
  const network = new Map<string, { host: string; port: number }>();
  let listeningPort = 0;

  function send(res: ServerResponse, exit: Exit, extra: Record<string, string>) {
    const payload = exit.raw ?? (exit.body === undefined ? undefined : JSON.stringify(exit.body));
    res.writeHead(exit.status, {
      ...(payload !== undefined && exit.raw === undefined ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
      Server: `kong/${KONG_VERSION}`,
      ...extra,
      ...exit.headers,
    });
    res.end(payload);
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = new URL(req.url ?? '/', 'http://placeholder');
    const method = (req.method ?? 'GET').toUpperCase();
    const host = req.headers.host ?? '';
    const routes = [...store.collection('routes').rows.values()] as (Entity & RouteLike)[];
    const router = buildRouter(routes);
    const matched = router.match({ method, path: target.pathname, host, headers: req.headers, port: listeningPort });
    if (!matched) return send(res, kongError(404, 'no Route matched with those values'), {});

    const route = matched.route;
    const protocols = new Set((route.protocols as string[] | null) ?? ['http', 'https']);
    const contentType = String(req.headers['content-type'] ?? '');
    if (protocols.has('https') && !protocols.has('http') && !protocols.has('grpc') && !protocols.has('grpcs')) {
      return send(
        res,
        kongError(426, 'Please use HTTPS protocol', { Connection: 'Upgrade', Upgrade: 'TLS/1.2, HTTP/1.1' }),
        {},
      );
    }
    if ((protocols.has('grpc') || protocols.has('grpcs')) && !protocols.has('http')) {
      if (!contentType.startsWith('application/grpc')) {
        return send(res, kongError(415, 'Non-gRPC request matched gRPC route'), {});
      }
      return send(res, kongError(426, 'Please use HTTP2 protocol', { connection: 'Upgrade', upgrade: 'HTTP/2' }), {});
    }

    const serviceId = (route.service as { id?: string } | null)?.id;
    const service = serviceId === undefined ? undefined : store.collection('services').get(serviceId);
    const state: ProxyState = {
      upstreamHeaders: {},
      responseHeaders: {},
      query: target.searchParams,
      clientHeaders: req.headers,
    };
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'host') state.upstreamHeaders[name] = value;
    }
    const plugins = pluginsFor(store.collection('plugins').rows.values(), route.id, serviceId);
    for (const plugin of plugins) {
      const config = (plugin.config ?? {}) as Record<string, unknown>;
      let exit: Exit | undefined;
      if (plugin.name === 'correlation-id') correlationId(config, state);
      else if (plugin.name === 'jwt')
        exit = jwt(config, state, options.verifyJwt, (id) => store.collection('consumers').get(id));
      else if (plugin.name === 'opentelemetry') opentelemetry(config, state);
      else if (plugin.name === 'request-termination') exit = requestTermination(config, state);
      if (exit) {
        const errorBody =
          exit.body && typeof exit.body === 'object' && 'message' in exit.body && exit.status >= 400
            ? { ...exit.body, request_id: randomBytes(16).toString('hex') }
            : exit.body;
        return send(res, { ...exit, body: errorBody }, state.responseHeaders);
      }
    }
    if (!service) return send(res, kongError(503, 'no Service found with those values'), state.responseHeaders);

    const protocol = String(service.protocol ?? 'http');
    const upstreams = store.collection('upstreams');
    const upstreamId = upstreams.idByUnique('name', service.host);
    let address: { host: string; port: number };
    if (upstreamId !== undefined) {
      const targets = [...(store.collection('targets').childIds('upstream', upstreamId)?.from() ?? [])]
        .map((id) => store.collection('targets').get(id))
        .filter((t): t is Entity => t !== undefined);
      const picked = balancer.pick(upstreamId, targets);
      if (!picked)
        return send(res, kongError(503, 'failure to get a peer from the ring-balancer'), state.responseHeaders);
      address = splitTarget(String(picked.target));
    } else address = { host: String(service.host), port: Number(service.port ?? DEFAULT_PORTS[protocol] ?? 80) };

    const servicePort = Number(service.port ?? DEFAULT_PORTS[protocol]);
    const defaultHost =
      servicePort === DEFAULT_PORTS[protocol] ? String(service.host) : `${String(service.host)}:${servicePort}`;
    const upstreamHost = matched.upstreamHost ?? defaultHost;
    const path = upstreamUri(matched, (service.path as string | null) ?? null);
    const search = target.search;
    const forwardedFor = req.headers['x-forwarded-for'];
    const remote = req.socket.remoteAddress ?? '127.0.0.1';
    const headers: Record<string, string | string[]> = {
      ...state.upstreamHeaders,
      host: upstreamHost,
      'x-real-ip': remote,
      'x-forwarded-for': forwardedFor ? `${String(forwardedFor)}, ${remote}` : remote,
      'x-forwarded-proto': 'http',
      'x-forwarded-host': host.replace(/:\d+$/, ''),
      'x-forwarded-port': String(listeningPort),
      'x-forwarded-path': target.pathname,
      ...(matched.prefix && matched.prefix !== '/' ? { 'x-forwarded-prefix': matched.prefix } : {}),
      'content-length': String(body.length),
    };
    const secure = protocol === 'https' || protocol === 'grpcs';
    const caIds = (service.ca_certificates as string[] | null) ?? [];
    const ca = caIds.map((id) => options.caCertificate(id)).filter((pem): pem is string => pem !== undefined);
    const started = Date.now();
    // TLS still names the upstream Host (SNI and verification below); only the socket goes where the map says.
    const reach = network.get(`${address.host}:${address.port}`) ?? address;
    const upstream = (secure ? httpsRequest : httpRequest)({
      host: reach.host,
      port: reach.port,
      method,
      path: `${path}${search}`,
      headers,
      ...(secure
        ? {
            // Kong sends the upstream Host as SNI and, with tls_verify, checks the chain and that name.
            servername: upstreamHost.replace(/:\d+$/, ''),
            rejectUnauthorized: service.tls_verify === true,
            ...(ca.length > 0 ? { ca } : {}),
          }
        : {}),
    });
    upstream.on('response', (answer) => {
      const responseHeaders: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) responseHeaders[name] = value;
      }
      res.writeHead(answer.statusCode ?? 502, {
        ...responseHeaders,
        ...state.responseHeaders,
        Via: `1.1 kong/${KONG_VERSION}`,
        'X-Kong-Upstream-Latency': String(Date.now() - started),
        'X-Kong-Proxy-Latency': '0',
      });
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent)
        send(res, kongError(502, 'An invalid response was received from the upstream server'), state.responseHeaders);
    });
    upstream.end(body);
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      process.stderr.write(`kong proxy double: ${String(error)}\n`);
      if (!res.headersSent) send(res, kongError(500, 'An unexpected error occurred'), {});
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  listeningPort = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${listeningPort}`,
    port: listeningPort,
    network,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
