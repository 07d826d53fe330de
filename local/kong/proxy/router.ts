/**
 * Kong 3.9's HTTP router (`router_flavor = traditional_compatible`, the default) for the route fields meshgate
 * writes: methods, hosts (plain, `*.suffix`, `prefix.*`, with or without a port), headers (exact values and `~*`
 * regexes), prefix and `~` regex paths, `regex_priority`, `strip_path`, `preserve_host`. Pure: routes in, a match
 * out. Modelled on kong/router/transform.lua (expression and priority of a traditional route), atc.lua (the
 * match result) and utils.lua (upstream URI, path_handling v0), and on the Proxy Reference's "Matching priorities".
 */

export interface RouteLike {
  id: string;
  created_at?: number;
  protocols?: string[] | null;
  methods?: string[] | null;
  hosts?: string[] | null;
  paths?: string[] | null;
  headers?: Record<string, string[]> | null;
  snis?: string[] | null;
  sources?: unknown[] | null;
  destinations?: unknown[] | null;
  regex_priority?: number;
  strip_path?: boolean;
  preserve_host?: boolean;
  path_handling?: string;
}

export interface ProxyRequest {
  method: string;
  /** The request target's path (no query), as received. */
  path: string;
  /** The Host header as received (may carry a port). */
  host: string;
  /** Lower-case header names; repeated headers as arrays. */
  headers: Record<string, string | string[] | undefined>;
  /** The port the proxy accepted the request on (`net.dst.port`). */
  port: number;
}

export interface RouteMatch<R extends RouteLike> {
  route: R;
  /** The normalized request path the router matched. */
  path: string;
  /** The matched prefix, or the text a regex path matched (`captures[0]`). */
  matchedPath: string;
  captures?: { positional: string[]; named: Record<string, string> };
  /** The prefix stripped from the upstream URI (`strip_path`), `undefined` otherwise. */
  prefix?: string;
  /** The client's Host, sent upstream when `preserve_host` is on. */
  upstreamHost?: string;
}

interface Candidate<R extends RouteLike> {
  route: R;
  priority: bigint;
  /** The route's paths of one group: all regexes, or prefixes of one length (transform.lua splits the rest). */
  paths: string[] | null;
  regexes: RegExp[];
}

const isRegexPath = (path: string) => path.startsWith('~');
const isEmpty = (value: unknown[] | Record<string, unknown> | null | undefined) =>
  value == null || (Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0);

const MAX_HEADER_COUNT = 255n;

/**
 * get_priority() of a traditional route, bit for bit: match weight (bits 61-63), plain hosts only (60), header count
 * (52-59), regex path (51), regex_priority (19-50, regex paths only), prefix length (0-18).
 */
export function routePriority(route: RouteLike, paths: string[] | null): bigint {
  let weight = 0n;
  for (const field of [route.sources, route.destinations, route.methods, route.hosts, route.snis]) {
    if (!isEmpty(field)) weight += 1n;
  }
  const headerCount = isEmpty(route.headers) ? 0n : BigInt(Object.keys(route.headers ?? {}).length);
  if (headerCount > 0n) weight += 1n;
  const plainHostOnly = Array.isArray(route.hosts) && route.hosts.every((host) => !host.includes('*'));
  let regex = false;
  let length = 0n;
  if (!isEmpty(paths)) {
    weight += 1n;
    const first = (paths as string[])[0] as string;
    regex = isRegexPath(first);
    if (!regex) length = BigInt(first.length);
  }
  const regexPriority = regex ? BigInt(route.regex_priority ?? 0) : 0n;
  return (
    (weight << 61n) |
    (plainHostOnly ? 1n << 60n : 0n) |
    ((headerCount > MAX_HEADER_COUNT ? MAX_HEADER_COUNT : headerCount) << 52n) |
    (regex ? 1n << 51n : 0n) |
    (regexPriority << 19n) |
    (length & 0x7ffffn)
  );
}

/** A route's paths grouped as split_routes_and_services_by_path does: one group of regexes, one per prefix length. */
function pathGroups(paths: string[] | null | undefined): (string[] | null)[] {
  if (!paths || paths.length === 0) return [null];
  const groups = new Map<number, string[]>();
  for (const path of paths) {
    const key = isRegexPath(path) ? 0 : path.length;
    groups.set(key, [...(groups.get(key) ?? []), path]);
  }
  return [...groups.values()];
}

/** A route regex as the router compiles it: anchored at the start; `(?P<name>` and `(?<name>` are both named groups. */
function compilePathRegex(path: string): RegExp {
  return new RegExp(`^(?:${path.slice(1).replace(/\(\?P</g, '(?<')})`);
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * Request path normalization before matching (Proxy Reference, "Normalization behavior"): percent escapes
 * upper-cased, escaped unreserved characters decoded, dot segments removed, duplicate slashes merged.
 */
export function normalizePath(path: string): string {
  const escaped = path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  const merged = escaped.replace(/\/{2,}/g, '/');
  const output: string[] = [];
  const segments = merged.split('/');
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    if (segment === '.') {
      if (last) output.push('');
      continue;
    }
    if (segment === '..') {
      if (output.length > 1) output.pop();
      if (last) output.push('');
      continue;
    }
    output.push(segment);
  }
  const joined = output.join('/');
  return joined.startsWith('/') ? joined : `/${joined}`;
}

function splitHostPort(value: string): { host: string; port?: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value);
  if (!match) return { host: value };
  return match[2] === undefined ? { host: match[1] as string } : { host: match[1] as string, port: Number(match[2]) };
}

function hostMatches(hosts: string[], requestHost: string, port: number): boolean {
  return hosts.some((entry) => {
    const { host, port: wantedPort } = splitHostPort(entry.toLowerCase());
    if (wantedPort !== undefined && wantedPort !== port) return false;
    if (host.startsWith('*')) return requestHost.endsWith(host.slice(1));
    if (host.endsWith('*')) return requestHost.startsWith(host.slice(0, -1));
    return requestHost === host;
  });
}

/** `any(lower(http.headers.x)) == lower(value)`, or `~` (a regex search, unanchored) for `~*` values. */
function headersMatch(wanted: Record<string, string[]>, headers: ProxyRequest['headers']): boolean {
  return Object.entries(wanted).every(([name, values]) => {
    const raw = headers[name.toLowerCase()];
    const actual = (raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]).map((v) => v.toLowerCase());
    return values.some((value) => {
      if (value.startsWith('~*')) {
        const regex = new RegExp(value.slice(2).toLowerCase());
        return actual.some((v) => regex.test(v));
      }
      return actual.includes(value.toLowerCase());
    });
  });
}

export interface Router<R extends RouteLike> {
  match(request: ProxyRequest): RouteMatch<R> | undefined;
  /** The evaluation order (one entry per path group), highest priority first. */
  readonly order: { route: R; paths: string[] | null; priority: bigint }[];
}

/**
 * Routes are tried highest priority first. Kong leaves the order of equal priorities undefined; the traditional
 * router (and this double) takes the older route first (`created_at`, then id for a stable order).
 */
export function buildRouter<R extends RouteLike>(routes: readonly R[]): Router<R> {
  const candidates: Candidate<R>[] = [];
  for (const route of routes) {
    for (const paths of pathGroups(route.paths)) {
      candidates.push({
        route,
        paths,
        priority: routePriority(route, paths),
        regexes: (paths ?? []).filter(isRegexPath).map(compilePathRegex),
      });
    }
  }
  candidates.sort(
    (a, b) =>
      (a.priority === b.priority ? 0 : a.priority > b.priority ? -1 : 1) ||
      (a.route.created_at ?? 0) - (b.route.created_at ?? 0) ||
      (a.route.id < b.route.id ? -1 : a.route.id > b.route.id ? 1 : 0),
  );

  return {
    order: candidates.map(({ route, paths, priority }) => ({ route, paths, priority })),
    match(request) {
      const path = normalizePath(request.path);
      const { host } = splitHostPort(request.host.toLowerCase());
      for (const candidate of candidates) {
        const { route } = candidate;
        if (!isEmpty(route.methods) && !route.methods?.includes(request.method)) continue;
        if (!isEmpty(route.hosts) && !hostMatches(route.hosts ?? [], host, request.port)) continue;
        if (!isEmpty(route.headers) && !headersMatch(route.headers ?? {}, request.headers)) continue;
        let matchedPath = '/';
        let captures: RouteMatch<R>['captures'];
        if (candidate.paths) {
          const found = matchPaths(candidate, path);
          if (!found) continue;
          matchedPath = found.matched;
          captures = found.captures;
        }
        return {
          route,
          path,
          matchedPath,
          ...(captures ? { captures } : {}),
          ...(route.strip_path && candidate.paths ? { prefix: matchedPath } : {}),
          ...(route.preserve_host ? { upstreamHost: request.host } : {}),
        };
      }
      return undefined;
    },
  };
}

function matchPaths<R extends RouteLike>(
  candidate: Candidate<R>,
  path: string,
): { matched: string; captures?: RouteMatch<R>['captures'] } | undefined {
  if (candidate.regexes.length > 0) {
    for (const regex of candidate.regexes) {
      const found = regex.exec(path);
      if (!found) continue;
      const positional = found.slice(1).map((value) => value ?? '');
      const named = { ...(found.groups ?? {}) } as Record<string, string>;
      return positional.length > 0 ? { matched: found[0], captures: { positional, named } } : { matched: found[0] };
    }
    return undefined;
  }
  const prefix = (candidate.paths ?? []).find((p) => path.startsWith(p));
  return prefix === undefined ? undefined : { matched: prefix };
}

/** sanitize_uri_postfix: a leading `.`/`..` segment left after the prefix is dropped. */
function sanitizePostfix(postfix: string): string {
  if (postfix === '.' || postfix === '..') return '';
  if (postfix.startsWith('./')) return postfix.slice(2);
  if (postfix.startsWith('../')) return postfix.slice(3);
  return postfix;
}

/** get_upstream_uri_v0: the service path joined with what is left of the request path (path_handling v0). */
export function upstreamUri(
  match: Pick<RouteMatch<RouteLike>, 'path' | 'prefix' | 'route'>,
  servicePath: string | null,
): string {
  const base = servicePath ?? '/';
  const requestPath = match.path;
  const prefix = match.prefix ?? '/';
  const postfix = sanitizePostfix(requestPath.slice(prefix.length));
  const strip = match.route.strip_path === true;
  if (base.endsWith('/')) {
    if (strip) {
      if (postfix === '') {
        if (base === '/') return '/';
        return requestPath.endsWith('/') ? base : base.slice(0, -1);
      }
      return postfix.startsWith('/') ? base.slice(0, -1) + postfix : base + postfix;
    }
    return base + requestPath.slice(1);
  }
  if (strip) {
    if (postfix === '') return requestPath.length > 1 && requestPath.endsWith('/') ? `${base}/` : base;
    return postfix.startsWith('/') ? base + postfix : `${base}/${postfix}`;
  }
  return requestPath === '/' ? base : base + requestPath;
}
