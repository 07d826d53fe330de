import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultInjector, type FaultRule, type LoggedRequest, RequestLog } from '../faults.js';
import { DeclarativeNode, onlyWithoutDatabase, refuseEntityWrite } from './dbless.js';
import { defaultBodyFor, KongHttpError, kongErrors } from './errors.js';
import { AdminApi, type ApiRequest, type EntityWrite, KONG_VERSION, type Reply } from './handlers.js';
import { verifyJwt as verifyJwtWith } from './jwt-verify.js';
import { KonnectGate } from './konnect.js';
import { type KongProxy, startKongProxy } from './proxy/server.js';
import { resolveRoute } from './router.js';
import { isPlainObject } from './schemas/fields.js';
import { KongStore } from './store.js';
import { versionGate } from './versions.js';

export interface GuardViolation {
  method: string;
  path: string;
  entity: string;
  id?: string;
  tags: string[] | null;
}

export interface KongDouble {
  readonly url: string;
  /**
   * What meshgate's KONG_ADMIN_URL is: `url`, or in Konnect mode the control plane's core-entities URL
   * (`url` + `/v2/control-planes/{id}/core-entities`).
   */
  readonly adminUrl: string;
  /** Accepts only this admin token (Konnect: access token) from now on, as after a rotation. */
  setAdminToken(token: string): void;
  readonly port: number;
  readonly faults: FaultInjector;
  readonly requests: RequestLog;
  /** From now on record every write (create, update, delete) that touches an entity lacking ALL of `tags`. */
  guard(tags: string[]): void;
  readonly violations: GuardViolation[];
  /** Kong's JWT plugin check (reference §8 steps 3-5) against the stored credentials. */
  verifyJwt(
    token: string,
    options?: { keyClaimName?: string },
  ):
    | { ok: true; consumer: { id: string; username: string | null }; key: string }
    | { ok: false; status: number; message: string };
  /** Kong's proxy port over the same store, when started with `proxyPort` (0 = a free port). */
  readonly proxy?: KongProxy;
  reset(): void;
  close(): Promise<void>;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const BODY_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'];

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `a=1&b.c=2&d[]=x&d[]=y` → nested object; repeated keys become arrays (Kong's form argument decoding). */
function parseForm(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const isList = rawKey.endsWith('[]');
    const path = (isList ? rawKey.slice(0, -2) : rawKey).split('.');
    let node = out;
    for (const segment of path.slice(0, -1)) {
      if (!isPlainObject(node[segment])) node[segment] = {};
      node = node[segment] as Record<string, unknown>;
    }
    const leaf = path[path.length - 1] as string;
    const current = node[leaf];
    if (isList || current !== undefined)
      node[leaf] = [...(Array.isArray(current) ? current : current === undefined ? [] : [current]), value];
    else node[leaf] = value;
  }
  return out;
}

/** Body of a write per kong/api/api_helpers.lua: JSON, form or nothing; anything else 415. */
function parseBody(req: IncomingMessage, raw: Buffer): { body: Record<string, unknown>; form: boolean } {
  const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
  if (!contentType) {
    if (raw.length > 0) throw kongErrors.unsupportedMediaType();
    return { body: {}, form: false };
  }
  if (!BODY_TYPES.some((type) => contentType.startsWith(type))) throw kongErrors.unsupportedMediaType();
  if (contentType.startsWith('application/json')) {
    try {
      const body = JSON.parse(raw.toString('utf8'));
      if (!isPlainObject(body)) throw kongErrors.badJson();
      return { body, form: false };
    } catch {
      throw kongErrors.badJson();
    }
  }
  if (contentType.startsWith('multipart/form-data')) throw kongErrors.unsupportedMediaType();
  return { body: parseForm(raw.toString('utf8')), form: true };
}

/** PEM of a stored CA certificate, for the proxy's upstream TLS verification. */
function caCertificatePem(store: KongStore, id: string): string | undefined {
  const cert = store.collection('ca_certificates').get(id)?.cert;
  return typeof cert === 'string' ? cert : undefined;
}

/** Starts the Kong Admin API double on 127.0.0.1 (port 0 = a free port) with an empty database. */
export async function startKongDouble(
  options: {
    port?: number;
    adminToken?: string;
    tokenHeader?: string;
    /** `GET /`'s version (default 3.9.3); 3.4 to 3.8 refuse and omit what those versions lack (versions.ts). */
    version?: string;
    /** Kong Enterprise workspaces besides `default`, served under `/{workspace}/…`, each with its own entities. */
    workspaces?: string[];
    /**
     * `dbless`: Kong with `database = off` (entity writes 405, `GET/POST /config`, `/status` configuration hash).
     * `konnect`: a Konnect control plane's core-entities API (konnect.ts); `adminToken` is its access token.
     */
    mode?: 'db' | 'dbless' | 'konnect';
    /** Konnect mode: the control plane's id in the path (default konnect.ts's DEFAULT_CONTROL_PLANE_ID). */
    controlPlaneId?: string;
    /** Also serve Kong's proxy (the router and the plugins meshgate writes) on this port (0: any free one). */
    proxyPort?: number;
  } = {},
): Promise<KongDouble> {
  const store = new KongStore();
  const faults = new FaultInjector();
  const requests = new RequestLog();
  const violations: GuardViolation[] = [];
  const tokenHeader = (options.tokenHeader ?? 'Kong-Admin-Token').toLowerCase();
  let adminToken = options.adminToken;
  if (options.mode === 'konnect' && adminToken === undefined)
    throw new Error('the Kong double in Konnect mode needs an access token (adminToken)');
  const konnect =
    options.mode === 'konnect'
      ? new KonnectGate({ controlPlaneId: options.controlPlaneId, tokens: [adminToken as string] })
      : undefined;
  let guardTags: string[] | undefined;
  let totalRequests = 0;
  let current: { method: string; path: string } = { method: '', path: '' };

  const lacksGuardTags = (entity: Record<string, unknown> | undefined) => {
    if (!entity || !guardTags) return false;
    const tags = Array.isArray(entity.tags) ? (entity.tags as string[]) : [];
    return !guardTags.every((tag) => tags.includes(tag));
  };

  const recordWrite = (write: EntityWrite) => {
    const touched = lacksGuardTags(write.before) ? write.before : lacksGuardTags(write.after) ? write.after : undefined;
    if (!touched) return;
    violations.push({
      method: current.method,
      path: current.path,
      entity: write.entity,
      id: write.id,
      tags: (touched.tags as string[] | null) ?? null,
    });
  };

  const nodeInfo = { nodeId: randomUUID(), hostname: hostname(), totalRequests: () => totalRequests };
  const api = new AdminApi(store, nodeInfo, recordWrite);
  const dbless = options.mode === 'dbless' ? new DeclarativeNode(store, nodeInfo, recordWrite) : undefined;

  const version = options.version ?? KONG_VERSION;
  const gate = versionGate(version);
  // Enterprise: `/{ws}/…` addresses that workspace's entities; `/…` and `/default/…` the default workspace.
  const workspaces = new Map<string, AdminApi>();
  if (options.workspaces) {
    workspaces.set('default', api);
    for (const name of options.workspaces)
      workspaces.set(
        name,
        new AdminApi(
          new KongStore(),
          { nodeId: randomUUID(), hostname: hostname(), totalRequests: () => totalRequests },
          recordWrite,
        ),
      );
  }
  const workspaceOf = (pathname: string): { api: AdminApi; path: string } => {
    const first = pathname.split('/')[1] ?? '';
    let name: string;
    try {
      name = decodeURIComponent(first);
    } catch {
      return { api, path: pathname };
    }
    const selected = workspaces.get(name);
    return selected ? { api: selected, path: pathname.slice(first.length + 1) || '/' } : { api, path: pathname };
  };
  const asVersion = (reply: Reply, kind: string): Reply => {
    if (kind === 'root' && isPlainObject(reply.body)) {
      const body: Record<string, unknown> = {
        ...reply.body,
        version,
        edition: options.workspaces ? 'enterprise' : reply.body.edition,
      };
      if (dbless && isPlainObject(body.configuration)) body.configuration = { ...body.configuration, database: 'off' };
      return { ...reply, body };
    }
    if (dbless && kind === 'status' && isPlainObject(reply.body)) {
      const { database: _database, ...status } = reply.body;
      return { ...reply, body: { ...status, configuration_hash: dbless.hash } };
    }
    return gate && reply.body !== undefined ? { ...reply, body: gate.reply(reply.body) } : reply;
  };

  /** `GET/POST /config`: DB-less only; YAML bodies are accepted here and nowhere else. */
  const declarativeConfig = (method: string, req: IncomingMessage, raw: Buffer, query: URLSearchParams): Reply => {
    if (method !== 'GET' && method !== 'POST') throw kongErrors.methodNotAllowed();
    if (!dbless) throw onlyWithoutDatabase();
    if (method === 'GET') return { status: 200, body: dbless.exportConfig() };
    const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
    const yamlBody = contentType.startsWith('application/yaml') || contentType.startsWith('text/yaml');
    const { body } = yamlBody ? { body: {} } : parseBody(req, raw);
    return dbless.load(query, body, raw.toString('utf8'));
  };

  function send(
    res: ServerResponse,
    reply: Reply,
    headOnly: boolean,
    started: number,
    extra: Record<string, string> = {},
  ) {
    const payload = reply.body === undefined || reply.status === 204 ? undefined : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      ...(payload === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Credentials': 'true',
      'X-Kong-Admin-Latency': String(Date.now() - started),
      Server: `kong/${version}`,
      ...extra,
    });
    res.end(headOnly ? undefined : payload);
  }

  async function answerFault(fault: FaultRule, res: ServerResponse, logged: LoggedRequest, started: number) {
    if (fault.delayMs) await sleep(fault.delayMs);
    if (fault.drop) {
      res.socket?.destroy();
      return true;
    }
    if (fault.status === undefined) return false;
    logged.status = fault.status;
    send(
      res,
      { status: fault.status, body: fault.body ?? konnect?.faultBody(fault.status) ?? defaultBodyFor(fault.status) },
      false,
      started,
      fault.headers,
    );
    return true;
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    // Konnect: requests are logged (and faults matched) by their Admin API path under the control plane's prefix.
    const prefix = konnect?.prefix;
    const loggedPath =
      prefix && url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : url.pathname;
    const logged: LoggedRequest = { method, path: loggedPath };
    requests.record(logged);
    totalRequests += 1;
    await faults.roundTrip();
    const fault = faults.take(logged);
    if (fault) {
      logged.fault = true;
      if (await answerFault(fault, res, logged, started)) return;
    }
    const headOnly = method === 'HEAD';
    let reply: Reply;
    let extra: Record<string, string> = {};
    // Konnect: an error of its own layers (token, path, method) is already in its shape; the handlers' are Kong's.
    let konnectShaped = false;
    try {
      let target: { api: AdminApi; path: string };
      if (konnect) {
        konnectShaped = true;
        konnect.authorize(req.headers.authorization);
        target = { api, path: konnect.inner(url.pathname) };
        konnect.checkMethod(method);
        konnectShaped = false;
      } else {
        if (adminToken !== undefined && req.headers[tokenHeader] !== adminToken) throw kongErrors.unauthorized();
        target = workspaceOf(url.pathname);
      }
      if (target.path.replace(/\/+$/, '') === '/config') {
        current = { method, path: url.pathname };
        reply = declarativeConfig(headOnly ? 'GET' : method, req, raw, url.searchParams);
        logged.status = reply.status;
        send(res, reply, headOnly, started, extra);
        return;
      }
      const resolved = resolveRoute(target.path);
      if (!resolved) throw kongErrors.notFound();
      if (method === 'OPTIONS') {
        const allow = [...resolved.methods, 'OPTIONS'].join(', ');
        reply = { status: 204 };
        extra = { Allow: allow, 'Access-Control-Allow-Methods': allow };
      } else {
        const effective = headOnly ? 'GET' : method;
        if (!resolved.methods.includes(effective)) throw kongErrors.methodNotAllowed();
        const { body, form } = WRITE_METHODS.has(effective) ? parseBody(req, raw) : { body: {}, form: false };
        const request: ApiRequest = { method: effective, query: url.searchParams, body, form };
        current = { method, path: url.pathname };
        if (gate && WRITE_METHODS.has(effective)) gate.checkWrite(resolved.route, body);
        if (dbless) refuseEntityWrite(resolved.route, effective);
        reply = asVersion(target.api.handle(resolved.route, request), resolved.route.kind);
      }
    } catch (error) {
      if (error instanceof KongHttpError) {
        reply = { status: error.status, body: error.body };
        extra = error.headers;
      } else {
        process.stderr.write(`kong double: ${method} ${url.pathname} failed: ${String(error)}\n`);
        reply = { status: 500, body: defaultBodyFor(500) };
      }
    }
    if (konnect && !konnectShaped) reply = konnect.reply(reply);
    logged.status = reply.status;
    send(res, reply, headOnly, started, extra);
  }

  const server = createServer((req, res) => {
    void serve(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const proxy =
    options.proxyPort === undefined
      ? undefined
      : await startKongProxy(store, {
          port: options.proxyPort,
          verifyJwt: (token, keyClaimName) => verifyJwtWith(store, token, keyClaimName),
          caCertificate: (id) => caCertificatePem(store, id),
        });

  return {
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${port}${konnect?.prefix ?? ''}`,
    setAdminToken(token) {
      adminToken = token;
      konnect?.setTokens([token]);
    },
    port,
    faults,
    requests,
    violations,
    ...(proxy ? { proxy } : {}),
    guard(tags) {
      guardTags = [...tags];
    },
    verifyJwt: (token, verifyOptions) => verifyJwtWith(store, token, verifyOptions?.keyClaimName),
    reset() {
      store.clear();
      for (const workspace of workspaces.values()) workspace.clear();
      faults.clear();
      requests.clear();
      violations.length = 0;
      guardTags = undefined;
    },
    close: async () => {
      await proxy?.close();
      await new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };
}
