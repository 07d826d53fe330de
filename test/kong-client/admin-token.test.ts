import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config/index.js';
import {
  cachedAdminToken,
  kongClientFromConfig,
  resolveAdminToken,
  tokenFromSecretString,
} from '../../shared/kong/admin-token.js';
import { fakeSecretValues } from '../support/secrets-manager-fake.js';
import { type FakeServer, script, startFake } from './fake-server.js';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:kong-admin-AbCdEf';
/** The admin token secret at ARN, holding `value()` at each read. */
const tokenSecret = (value: () => string) =>
  fakeSecretValues(({ SecretId }) => {
    if (SecretId !== ARN) throw new Error(`no secret ${SecretId}`);
    return { SecretString: value() };
  });

describe('tokenFromSecretString', () => {
  it('accepts the raw token or JSON {"token"}', () => {
    expect(tokenFromSecretString('  raw-token\n', ARN)).toBe('raw-token');
    expect(tokenFromSecretString('{"token":"json-token"}', ARN)).toBe('json-token');
  });

  it.each([
    [undefined, /has no SecretString/],
    ['', /has no SecretString/],
    ['{"token": ', /looks like JSON but does not parse/],
    ['{"password":"hunter2"}', /no non-empty string field 'token'/],
    ['{"token":""}', /no non-empty string field 'token'/],
  ])('rejects %j naming the secret, never its content', (value, message) => {
    const error = (() => {
      try {
        tokenFromSecretString(value, ARN);
      } catch (caught) {
        return caught as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toMatch(message);
    expect(error?.message).toContain(ARN);
    expect(error?.message).not.toContain('hunter2');
  });
});

describe('resolveAdminToken', () => {
  it('reads the secret when KONG_ADMIN_TOKEN_SECRET_ARN is set, ahead of KONG_ADMIN_TOKEN', async () => {
    const token = await resolveAdminToken(
      { KONG_ADMIN_TOKEN_SECRET_ARN: ARN, KONG_ADMIN_TOKEN: 'from-env' },
      tokenSecret(() => '{"token":"from-sm"}'),
    );
    expect(token).toBe('from-sm');
  });

  it('falls back to KONG_ADMIN_TOKEN, or no token', async () => {
    const client = fakeSecretValues();
    await expect(resolveAdminToken({ KONG_ADMIN_TOKEN: 'local' }, client)).resolves.toBe('local');
    await expect(resolveAdminToken({}, client)).resolves.toBeUndefined();
    expect(client.reads).toHaveLength(0);
  });

  it('wraps a Secrets Manager failure in a ConfigError naming the variable', async () => {
    const refusing = fakeSecretValues(() => {
      throw Object.assign(new Error('not allowed'), { name: 'AccessDenied' });
    });
    await expect(resolveAdminToken({ KONG_ADMIN_TOKEN_SECRET_ARN: ARN }, refusing)).rejects.toThrow(
      /KONG_ADMIN_TOKEN_SECRET_ARN='.*': cannot read the Kong admin token \(AccessDenied: not allowed\)/,
    );
  });
});

describe('kongClientFromConfig', () => {
  let fake: FakeServer | undefined;
  afterEach(async () => fake?.close());

  it('builds a client that sends the secret token in the configured header', async () => {
    fake = await startFake(script({ status: 200, body: { version: '3.9.3' } }));
    const config = loadConfig({
      KONG_ADMIN_URL: fake.url,
      KONG_ADMIN_TOKEN_SECRET_ARN: ARN,
      KONG_ADMIN_TOKEN_HEADER: 'X-Kong-Token',
      MESHGATE_STATE_DIR: '/tmp/meshgate-test',
    });
    const kong = await kongClientFromConfig(
      config,
      tokenSecret(() => 'sm-token'),
    );
    try {
      await expect(kong.version()).resolves.toBe('3.9.3');
    } finally {
      kong.close();
    }
    expect(fake.requests[0]!.headers['x-kong-token']).toBe('sm-token');
  });
});

describe('a rotated admin token', () => {
  let fake: FakeServer | undefined;
  afterEach(async () => fake?.close());

  const configFor = (url: string) =>
    loadConfig({ KONG_ADMIN_URL: url, KONG_ADMIN_TOKEN_SECRET_ARN: ARN, MESHGATE_STATE_DIR: '/tmp/meshgate-test' });

  it('costs a warm client at most one failed request: a 401 re-reads the secret once and repeats the request', async () => {
    let accepted = 'token-1';
    fake = await startFake((request) =>
      request.headers['kong-admin-token'] === accepted
        ? { status: 200, body: { version: '3.9.3' } }
        : { status: 401, body: { message: 'Invalid credentials. Token or User credentials required' } },
    );
    let stored = 'token-1';
    const secret = tokenSecret(() => stored);
    const kong = await kongClientFromConfig(configFor(fake.url), secret);
    try {
      await expect(kong.version()).resolves.toBe('3.9.3');
      // The token is rotated: Secrets Manager and Kong both have the new one; the client still holds the old.
      accepted = 'token-2';
      stored = 'token-2';
      await expect(kong.version()).resolves.toBe('3.9.3');
      await expect(kong.version()).resolves.toBe('3.9.3');
    } finally {
      kong.close();
    }
    expect(fake.requests.map((request) => request.headers['kong-admin-token'])).toEqual([
      'token-1',
      'token-1',
      'token-2',
      'token-2',
    ]);
    expect(secret.reads).toHaveLength(2);
  });

  it('re-reads only once per request: a token Kong keeps refusing fails with the 401', async () => {
    fake = await startFake(() => ({ status: 401, body: { message: 'Invalid credentials' } }));
    const secret = tokenSecret(() => 'wrong');
    const kong = await kongClientFromConfig(configFor(fake.url), secret);
    try {
      await expect(kong.version()).rejects.toMatchObject({ status: 401 });
    } finally {
      kong.close();
    }
    expect(fake.requests).toHaveLength(2);
    expect(secret.reads).toHaveLength(2);
  });

  it('is read again after maxAge even without a 401, and concurrent reads share one call', async () => {
    let clock = 0;
    const values = ['a', 'b'];
    const secret = tokenSecret(() => (values.length > 1 ? (values.shift() as string) : (values[0] as string)));
    const source = cachedAdminToken({ KONG_ADMIN_TOKEN_SECRET_ARN: ARN }, secret, {
      maxAgeMs: 1000,
      now: () => clock,
    });
    await expect(Promise.all([source.current(), source.current()])).resolves.toEqual(['a', 'a']);
    clock = 999;
    await expect(source.current()).resolves.toBe('a');
    clock = 1000;
    await expect(source.current()).resolves.toBe('b');
    expect(secret.reads).toHaveLength(2);
  });
});
