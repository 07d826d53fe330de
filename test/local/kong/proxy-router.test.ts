import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRouter, normalizePath, type RouteLike, upstreamUri } from '../../../local/kong/proxy/router.js';
import type { TranslateInput, TranslationResult } from '../../../shared/translate/index.js';

/**
 * The proxy double's router against Kong's own documentation. "Proxy Reference" is Kong Gateway 3.x
 * `app/_src/gateway/how-kong-works/routing-traffic.md` (docs.konghq.com, published as "Routing traffic"); each
 * case names its section. Priority bits follow kong/router/transform.lua get_priority() of Kong 3.9.3.
 */

let clock = 0;
const route = (fields: Partial<RouteLike> & { id: string }): RouteLike => {
  clock += 1;
  return withDefaults(clock, fields);
};
const withDefaults = (createdAt: number, fields: Partial<RouteLike> & { id: string }): RouteLike => ({
  created_at: createdAt,
  strip_path: true,
  preserve_host: false,
  regex_priority: 0,
  ...fields,
});

const request = (method: string, path: string, host = 'example.com', headers: Record<string, string> = {}) => ({
  method,
  path,
  host,
  headers,
  port: 8000,
});

const matchId = (routes: RouteLike[], req: ReturnType<typeof request>) => buildRouter(routes).match(req)?.route.id;

describe('Proxy Reference, "Routes and matching capabilities"', () => {
  // hosts [example.com, foo-service.com], paths [/foo, /bar], methods [GET]
  const routes = [
    route({ id: 'r', hosts: ['example.com', 'foo-service.com'], paths: ['/foo', '/bar'], methods: ['GET'] }),
  ];

  it.each([
    ['GET', '/foo', 'example.com'],
    ['GET', '/bar', 'foo-service.com'],
    ['GET', '/foo/hello/world', 'example.com'],
  ])('matches %s %s Host: %s (all configured fields satisfied)', (method, path, host) => {
    expect(matchId(routes, request(method, path, host))).toBe('r');
  });

  it.each([
    ['GET', '/', 'example.com'],
    ['POST', '/foo', 'example.com'],
    ['GET', '/foo', 'foo.com'],
  ])('does not match %s %s Host: %s (only two of three conditions)', (method, path, host) => {
    expect(matchId(routes, request(method, path, host))).toBeUndefined();
  });
});

describe('Proxy Reference, "Request header" and "Using wildcard hostnames"', () => {
  it('headers.region=north matches a request with "Region: North" (values compared case-insensitively)', () => {
    const routes = [route({ id: 'region', headers: { region: ['north'] } })];
    expect(matchId(routes, request('GET', '/', 'x', { region: 'North' }))).toBe('region');
    expect(matchId(routes, request('GET', '/', 'x', { region: 'south' }))).toBeUndefined();
  });

  it('hosts ["*.example.com", "service.com"] match an.example.com and service.com', () => {
    const routes = [route({ id: 'w', hosts: ['*.example.com', 'service.com'] })];
    expect(matchId(routes, request('GET', '/', 'an.example.com'))).toBe('w');
    expect(matchId(routes, request('GET', '/', 'x.y.example.com'))).toBe('w');
    expect(matchId(routes, request('GET', '/', 'service.com'))).toBe('w');
    expect(matchId(routes, request('GET', '/', 'example.com'))).toBeUndefined();
  });

  it('"example.*" allows example.com and example.org', () => {
    const routes = [route({ id: 'w', hosts: ['example.*'] })];
    expect(matchId(routes, request('GET', '/', 'example.com'))).toBe('w');
    expect(matchId(routes, request('GET', '/', 'example.org:8000'))).toBe('w');
    expect(matchId(routes, request('GET', '/', 'www.example.com'))).toBeUndefined();
  });

  it('"Additional request headers": version v1 or v2 match, v3 does not (keys AND, values OR)', () => {
    const routes = [route({ id: 'v', headers: { version: ['v1', 'v2'] } })];
    expect(matchId(routes, request('GET', '/', 'x', { version: 'v1' }))).toBe('v');
    expect(matchId(routes, request('GET', '/', 'x', { version: 'v2' }))).toBe('v');
    expect(matchId(routes, request('GET', '/', 'x', { version: 'v3' }))).toBeUndefined();
  });

  it('"The preserve_host property": the client Host goes upstream only with preserve_host', () => {
    const plain = buildRouter([route({ id: 'p', hosts: ['service.com'] })]).match(request('GET', '/', 'service.com'));
    const preserved = buildRouter([route({ id: 'p', hosts: ['service.com'], preserve_host: true })]).match(
      request('GET', '/', 'service.com'),
    );
    expect(plain?.upstreamHost).toBeUndefined();
    expect(preserved?.upstreamHost).toBe('service.com');
  });
});

describe('Proxy Reference, "Request path"', () => {
  it('paths [/service, /hello/world] match /service, /service/resource?param=value and /hello/world/resource', () => {
    const routes = [route({ id: 'r', paths: ['/service', '/hello/world'] })];
    for (const path of ['/service', '/service/resource', '/hello/world/resource']) {
      expect(matchId(routes, request('GET', path, 'anything.com'))).toBe('r');
    }
  });

  it('"the longest paths get evaluated first": /service/resource is not shadowed by /service', () => {
    const routes = [route({ id: 'short', paths: ['/service'] }), route({ id: 'long', paths: ['/service/resource'] })];
    expect(matchId(routes, request('GET', '/service/resource/1'))).toBe('long');
    expect(matchId(routes, request('GET', '/service/other'))).toBe('short');
  });

  it('"Evaluation order": regex_priority 6, then the other regexes by age, then the plain /version', () => {
    const routes = [
      route({ id: 'status', paths: ['~/status/\\d+'], regex_priority: 0 }),
      route({ id: 'version-status', paths: ['~/version/\\d+/status/\\d+'], regex_priority: 6 }),
      route({ id: 'version', paths: ['/version'] }),
      route({ id: 'version-any', paths: ['~/version/any/'] }),
    ];
    expect(buildRouter(routes).order.map((entry) => entry.route.id)).toEqual([
      'version-status',
      'status',
      'version-any',
      'version',
    ]);
    expect(matchId(routes, request('GET', '/version/1/status/2'))).toBe('version-status');
    expect(matchId(routes, request('GET', '/version/any/x'))).toBe('version-any');
    expect(matchId(routes, request('GET', '/version/2'))).toBe('version');
  });

  it('"Capturing groups": /version/(?<version>\\d+)/users/(?<user>\\S+) captures 1 and john', () => {
    const match = buildRouter([route({ id: 'c', paths: ['~/version/(?<version>\\d+)/users/(?<user>\\S+)'] })]).match(
      request('GET', '/version/1/users/john'),
    );
    expect(match?.captures).toEqual({ positional: ['1', 'john'], named: { version: '1', user: 'john' } });
  });

  it('"The strip_path property": /service/path/to/resource goes upstream as /path/to/resource', () => {
    const match = buildRouter([route({ id: 's', paths: ['/service'], strip_path: true })]).match(
      request('GET', '/service/path/to/resource'),
    );
    expect(match && upstreamUri(match, null)).toBe('/path/to/resource');
  });

  it('"The strip_path property" with a regex: the whole matched sequence is stripped', () => {
    const match = buildRouter([route({ id: 's', paths: ['~/version/\\d+/service'], strip_path: true })]).match(
      request('GET', '/version/1/service/path/to/resource'),
    );
    expect(match && upstreamUri(match, null)).toBe('/path/to/resource');
  });

  it('"Normalization behavior": the four techniques apply before matching', () => {
    expect(normalizePath('/foo%3a')).toBe('/foo%3A');
    expect(normalizePath('/fo%6F')).toBe('/foo');
    expect(normalizePath('/foo/./bar/../baz')).toBe('/foo/baz');
    expect(normalizePath('/foo//bar')).toBe('/foo/bar');
    const routes = [route({ id: 'baz', paths: ['/foo/baz'] })];
    expect(matchId(routes, request('GET', '/fo%6F/./bar/..//baz'))).toBe('baz');
  });

  it('"path_handling" v0 table: service /s, route /fv0, strip_path false → /s/fv0/req and /s/fv0', () => {
    const router = buildRouter([route({ id: 'v0', paths: ['/fv0'], strip_path: false })]);
    const withRest = router.match(request('GET', '/fv0/req'));
    const bare = router.match(request('GET', '/fv0'));
    expect(withRest && upstreamUri(withRest, '/s')).toBe('/s/fv0/req');
    expect(bare && upstreamUri(bare, '/s')).toBe('/s/fv0');
  });
});

describe('Proxy Reference, "Request HTTP method"', () => {
  it('methods [GET, HEAD] match GET / and HEAD /resource, not POST or DELETE', () => {
    const routes = [route({ id: 'm', methods: ['GET', 'HEAD'] })];
    expect(matchId(routes, request('GET', '/'))).toBe('m');
    expect(matchId(routes, request('HEAD', '/resource'))).toBe('m');
    expect(matchId(routes, request('POST', '/'))).toBeUndefined();
    expect(matchId(routes, request('DELETE', '/'))).toBeUndefined();
  });
});

describe('Proxy Reference, "Matching priorities"', () => {
  it('the route with the most rules is tried first: GET goes to hosts-only, POST to hosts+methods', () => {
    const routes = [
      route({ id: 'hosts', hosts: ['example.com'] }),
      route({ id: 'hosts-methods', hosts: ['example.com'], methods: ['POST'] }),
    ];
    expect(matchId(routes, request('GET', '/'))).toBe('hosts');
    expect(matchId(routes, request('POST', '/'))).toBe('hosts-methods');
  });

  it('a third route with hosts, methods and paths is evaluated first', () => {
    const routes = [
      route({ id: 'hosts', hosts: ['example.com'] }),
      route({ id: 'hosts-methods', hosts: ['example.com'], methods: ['POST'] }),
      route({ id: 'all', hosts: ['example.com'], methods: ['POST'], paths: ['/'] }),
    ];
    expect(matchId(routes, request('POST', '/x'))).toBe('all');
  });

  it('tiebreaker 1: only plain hosts beats a wildcard host', () => {
    const routes = [route({ id: 'wild', hosts: ['*.example.com'] }), route({ id: 'plain', hosts: ['a.example.com'] })];
    expect(matchId(routes, request('GET', '/', 'a.example.com'))).toBe('plain');
  });

  it('tiebreaker 2: more non-Host headers wins', () => {
    const routes = [route({ id: 'one', headers: { a: ['1'] } }), route({ id: 'two', headers: { a: ['1'], b: ['2'] } })];
    expect(matchId(routes, request('GET', '/', 'x', { a: '1', b: '2' }))).toBe('two');
  });

  it('tiebreaker 3: a regex path beats plain paths', () => {
    const routes = [route({ id: 'plain', paths: ['/orders/items'] }), route({ id: 'regex', paths: ['~/orders'] })];
    expect(matchId(routes, request('GET', '/orders/items'))).toBe('regex');
  });

  it('tiebreaker 4: the longer longest path wins', () => {
    const routes = [route({ id: 'a', paths: ['/a'] }), route({ id: 'ab', paths: ['/a/b'] })];
    expect(matchId(routes, request('GET', '/a/b/c'))).toBe('ab');
  });

  it('tiebreaker 5: the older route (created_at) wins', () => {
    const older = route({ id: 'z-older', paths: ['/same'] });
    const newer = route({ id: 'a-newer', paths: ['/same'] });
    expect(matchId([newer, older], request('GET', '/same'))).toBe('z-older');
  });

  it('each path of a route is prioritized on its own (paths split by regex and prefix length)', () => {
    const routes = [route({ id: 'mixed', paths: ['/a', '/long/prefix'] }), route({ id: 'middle', paths: ['/a/bc'] })];
    expect(matchId(routes, request('GET', '/a/bc/d'))).toBe('middle');
    expect(matchId(routes, request('GET', '/long/prefix/x'))).toBe('mixed');
  });
});

/**
 * Every golden translation: each Kong route meshgate writes, asked with a request built from its own match fields,
 * reaches the upstream of the gateway its mesh route names (through its service), and no other route.
 */
const GOLDEN_DIR = join(import.meta.dirname, '..', '..', 'golden');
const goldenCases = readdirSync(GOLDEN_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

type Route = TranslationResult['state']['routes'][number];

/** A request the route's own fields accept: first host (wildcards filled), first method, headers, path. */
function requestFor(r: Route) {
  const host = (r.hosts?.[0] ?? 'client.example').replace(/^\*/, 'www').replace(/\*$/, 'com');
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(r.headers ?? {})) {
    const value = values[0] as string;
    headers[name] = value.startsWith('~*') ? sampleFor(value.slice(2)) : value;
  }
  const path = r.paths?.[0] ?? '/';
  return request(r.methods?.[0] ?? 'GET', path.startsWith('~') ? sampleFor(path.slice(1)) : `${path}/x`, host, headers);
}

/** A string the (simple, anchored) regexes translate produces accept. */
function sampleFor(regex: string): string {
  return regex
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replace(/^\(\?:(.*)\)$/, '$1')
    .replace(/\^\(\?:(.*)\)/, '$1')
    .replace(/\.\*/g, 'any')
    .replace(/\\d\+|\[0-9\]\+?/g, '7')
    .replace(/\[\^\/\]\+/g, 'seg')
    .replace(/\\(.)/g, '$1');
}

describe('golden translations through the router', () => {
  it.each(goldenCases)('%s: every route reaches the gateway its mesh route names', (name) => {
    const input = JSON.parse(readFileSync(join(GOLDEN_DIR, name, 'input.json'), 'utf8')) as TranslateInput;
    const expected = JSON.parse(readFileSync(join(GOLDEN_DIR, name, 'expected.json'), 'utf8')) as TranslationResult;
    const { routes, services } = expected.state;
    const router = buildRouter(routes.map((r, index) => ({ ...r, created_at: index })));
    for (const r of routes) {
      const matched = router.match(requestFor(r));
      expect(matched?.route.id, `${name}: ${r.name}`).toBe(r.id);
      const service = services.find((s) => s.id === r.service?.id);
      const [mesh, gateway] = String(r.name).split('.');
      const viaGateway = input.mesh.gatewayRoutes.some(
        (gr) => `${gr.mesh}.${gr.gateway}.${gr.name}` === r.name && gr.mesh === mesh && gr.gateway === gateway,
      );
      const terminated = expected.state.plugins.some((p) => p.name === 'request-termination' && p.route?.id === r.id);
      if (terminated) continue; // answered at the edge (the JWKS route); its service is never called
      if (viaGateway) expect(service?.host).toBe(`${gateway}.${mesh}.gateway`);
      else expect(expected.state.upstreams.map((u) => u.name)).toContain(service?.host);
    }
  });
});
