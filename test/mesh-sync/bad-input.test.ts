import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../shared/app/context.js';
import { ConfigError, echoed, loadConfig } from '../../shared/config/index.js';
import { checkAdminUrl } from '../../shared/kong/index.js';
import { startFake } from '../kong-client/fake-server.js';
import { malformedEvents } from './malformed-events.js';
import { buildMesh, capturingWarnings, scheduledEvent, useSyncWorld } from './world.js';

const sync = useSyncWorld({ mesh: 'empty' });

/** The messages of an error and its causes, outermost first. */
function messages(error: unknown): string[] {
  const chain: string[] = [];
  for (let current = error; current instanceof Error; current = current.cause) chain.push(current.message);
  return chain;
}

describe('malformed and unknown events', () => {
  it('drops each of more than 1,000 of them with a logged reason, no Kong request and no crash', async () => {
    await buildMesh(sync.world.clients, sync.world.app.store);
    sync.world.aws.requests.clear();
    const events = malformedEvents();
    expect(events.length).toBeGreaterThanOrEqual(1000);

    const { result: outcomes, warnings } = await capturingWarnings(async () => {
      const results: { family: string; result: unknown }[] = [];
      for (const { family, event } of events) results.push({ family, result: await sync.world.invoke(event) });
      return results;
    });

    const notDropped = outcomes.filter(
      ({ result }) =>
        (result as { status?: unknown })?.status !== 'dropped' ||
        typeof (result as { reason?: unknown }).reason !== 'string',
    );
    expect(notDropped.slice(0, 3)).toEqual([]);
    // One warning per event, carrying the same reason the handler answered with; reasons stay one short line.
    expect(warnings).toHaveLength(events.length);
    outcomes.forEach(({ result }, index) => {
      expect(warnings[index]).toEqual(['event dropped', { reason: (result as { reason: string }).reason }]);
    });
    const reasons = outcomes.map(({ result }) => (result as { reason: string }).reason);
    expect(reasons.filter((reason) => reason.length === 0 || reason.length > 300 || reason.includes('\n'))).toEqual([]);
    expect(sync.world.kong.requests.entries).toEqual([]);
    expect(sync.world.aws.requests.entries).toEqual([]);
    expect(sync.world.audit()).toEqual([]);
  });

  it('names the reason: unknown source, unsupported call, failed call, malformed member', async () => {
    const [appMeshCall] = malformedEvents()
      .filter(({ family }) => family === 'failed calls')
      .map(({ event }) => event as { detail: Record<string, unknown> });
    const { result } = await capturingWarnings(async () => ({
      source: await sync.world.invoke({ ...scheduledEvent(), source: 'aws.s3' }),
      call: await sync.world.invoke({
        ...appMeshCall,
        detail: { ...appMeshCall?.detail, errorCode: undefined, eventName: 'DescribeMesh' },
      }),
      failed: await sync.world.invoke({
        ...appMeshCall,
        detail: { ...appMeshCall?.detail, errorCode: 'AccessDenied' },
      }),
      member: await sync.world.invoke({ ...scheduledEvent(), time: 'yesterday' }),
      text: await sync.world.invoke('{"version":"0","id":'),
    }));
    expect(result).toEqual({
      source: { status: 'dropped', reason: "unknown event source 'aws.s3'" },
      call: {
        status: 'dropped',
        reason: expect.stringMatching(/^unsupported event 'aws\.(appmesh|servicediscovery):DescribeMesh'$/),
      },
      failed: { status: 'dropped', reason: 'the API call failed (errorCode AccessDenied); the mesh did not change' },
      member: { status: 'dropped', reason: expect.stringMatching(/^malformed event: time: /) },
      text: { status: 'dropped', reason: 'expected an EventBridge event object, got string' },
    });
  });
});

describe('a Kong that cannot be used', () => {
  /** An app like the world's, but talking to another Admin API. */
  const appFor = (url: string) => createApp(loadConfig({ ...sync.world.env, KONG_ADMIN_URL: url }), sync.world.clients);

  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  it('unreachable (a closed port): the run fails naming the connection error, and reports it', async () => {
    await buildMesh(sync.world.clients, sync.world.app.store);
    const port = await closedPort();
    const error = await sync.world
      .invoke(scheduledEvent(), appFor(`http://127.0.0.1:${port}`))
      .catch((e: unknown) => e);

    expect(messages(error)[0]).toMatch(/^could not read the current Kong state: Kong GET \/\w+.*ECONNREFUSED/);
    expect(sync.world.audit()).toEqual([
      expect.objectContaining({
        detailType: 'Sync Failed',
        detail: expect.objectContaining({ trigger: 'schedule', outcome: 'failed', errors: [messages(error)[0]] }),
      }),
    ]);
  });

  it('a 200 whose body is not JSON: the run fails naming the request and the body problem; nothing is written', async () => {
    await buildMesh(sync.world.clients, sync.world.app.store);
    const fake = await startFake(() => ({ status: 200, raw: '<html>maintenance</html>' }));
    try {
      const error = await sync.world.invoke(scheduledEvent(), appFor(fake.url)).catch((e: unknown) => e);
      expect(messages(error)[0]).toMatch(/^could not read the current Kong state: Kong GET \/\w+.*JSON/);
      expect(fake.requests.filter(({ method }) => method !== 'GET')).toEqual([]);
    } finally {
      await fake.close();
    }
  });

  it.each([
    ['an unexpected shape', { status: 200, body: { items: [] } }, /unexpected shape for a page: data: /],
    ['a 500 after every retry', { status: 500, times: Number.POSITIVE_INFINITY }, /GET \/services.*500/],
  ])('%s: the run fails naming it and writes nothing to Kong', async (_what, fault, reason) => {
    await buildMesh(sync.world.clients, sync.world.app.store);
    sync.world.kong.faults.inject({ method: 'GET', path: '/services', ...fault });
    sync.world.kong.requests.clear();
    const error = await sync.world.invoke(scheduledEvent()).catch((e: unknown) => e);
    sync.world.kong.faults.clear();

    expect(messages(error)[0]).toMatch(/^could not read the current Kong state: /);
    expect(messages(error)[0]).toMatch(reason);
    expect(sync.world.kongWrites()).toBe(0);
    expect(sync.world.audit().map(({ detailType }) => detailType)).toEqual(['Sync Failed']);
  });
});

describe('invalid configuration', () => {
  const valid = () => ({ KONG_ADMIN_URL: 'https://kong.internal:8444', MESHGATE_STATE_DIR: '/tmp/meshgate' });

  it('the base configuration is valid', () => {
    expect(loadConfig(valid())).toMatchObject({ MESHGATE_INSTANCE: 'default', JWT_ALGORITHM: 'ES256' });
  });

  it.each([
    ['KONG_ADMIN_URL', 'not a url'],
    ['KONG_ADMIN_URL', 'ftp://kong.internal'],
    ['KONG_ADMIN_URL', 'http://kong.example.com:8001'],
    ['KONG_ADMIN_TOKEN_HEADER', ''],
    ['KONG_ALLOW_INSECURE_HTTP', 'maybe'],
    ['KONG_TIMEOUT', 'soon'],
    ['MESHGATE_STAGE', 'dev/blue'],
    ['MESHGATE_INSTANCE', 'has space'],
    ['MESHGATE_INSTANCE', 'x'.repeat(65)],
    ['AUDIT_BUS_NAME', ''],
    ['JWT_ALGORITHM', 'HS256'],
    ['KEY_GRACE_PERIOD', '1 hour'],
    ['KEY_GRACE_PERIOD', '-5m'],
    ['TRACING_HEADER', ''],
    ['SYNC_PARALLELISM', '0'],
    ['SYNC_PARALLELISM', 'many'],
    ['SYNC_PARALLELISM', '2.5'],
    ['AWS_REGION', ''],
    ['KONG_TIMEOUT', '0s'],
    ['KONG_TIMEOUT', '0ms'],
    ['KONG_TIMEOUT', '1d'],
    ['KEY_GRACE_PERIOD', '0s'],
    ['KEY_GRACE_PERIOD', '30s'],
    ['KONG_ADMIN_TOKEN_HEADER', 'Kong Admin Token'],
    ['KONG_ADMIN_TOKEN_HEADER', 'Kong-Admin-Token:'],
    ['TRACING_HEADER', 'x request id'],
    ['KONG_MAX_RESPONSE_BYTES', '0'],
    ['TARGET_CIDRS', '10.0.0.0/33'],
    ['TARGET_CIDRS', 'everything'],
    ['TARGET_HOST_SUFFIXES', '.internal/evil'],
  ])('%s=%j: loadConfig throws naming the variable and the value', (variable, value) => {
    const load = () => loadConfig({ ...valid(), [variable]: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(`${variable}='${value}': `);
  });

  it('a header name with CR/LF is refused, and echoed with the control characters escaped', () => {
    for (const variable of ['KONG_ADMIN_TOKEN_HEADER', 'TRACING_HEADER']) {
      const load = () => loadConfig({ ...valid(), [variable]: 'X-Token\r\nX-Injected: 1' });
      expect(load).toThrow(`${variable}='X-Token\\x0d\\x0aX-Injected: 1': expected an HTTP header name`);
    }
  });

  it('credentials are never echoed: URL userinfo and token values are redacted', () => {
    const attempt = (env: Record<string, string>) => {
      try {
        loadConfig({ ...valid(), ...env });
      } catch (error) {
        return String((error as Error).message);
      }
      throw new Error('expected a ConfigError');
    };
    const plainHttp = attempt({ KONG_ADMIN_URL: 'http://admin:hunter2@kong.example.com:8001' });
    expect(plainHttp).toContain("KONG_ADMIN_URL='http://[redacted]@kong.example.com:8001'");
    expect(plainHttp).not.toContain('hunter2');
    const badUrl = attempt({ KONG_ADMIN_URL: 'ftp://admin:hunter2@kong.internal' });
    expect(badUrl).not.toContain('hunter2');
    expect(() => checkAdminUrl('gopher://admin:hunter2@kong.internal')).toThrow(/gopher:\/\/\[redacted\]@kong/);
    expect(echoed('KONG_ADMIN_TOKEN', 'hunter2')).toBe('[redacted]');
    expect(echoed('KONG_ADMIN_TOKEN_SECRET_ARN', 'arn:aws:secretsmanager:x')).toBe('arn:aws:secretsmanager:x');
  });

  it('KONG_ADMIN_URL unset, and neither SNAPSHOT_BUCKET nor MESHGATE_STATE_DIR set: named as unset', () => {
    expect(() => loadConfig({ MESHGATE_STATE_DIR: '/tmp/meshgate' })).toThrow('KONG_ADMIN_URL (unset): ');
    expect(() => loadConfig({ KONG_ADMIN_URL: 'https://kong.internal' })).toThrow(
      'SNAPSHOT_BUCKET (unset): set SNAPSHOT_BUCKET (on AWS) or MESHGATE_STATE_DIR (locally)',
    );
  });
});
