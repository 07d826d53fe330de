import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config/index.js';
import { kongClientFromConfig, resolveAdminToken, tokenFromSecretString } from '../../shared/kong/admin-token.js';
import { type FakeServer, script, startFake } from './fake-server.js';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:kong-admin-AbCdEf';
const secretsManager = mockClient(SecretsManagerClient);

afterEach(() => secretsManager.reset());

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
    secretsManager.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: '{"token":"from-sm"}' });
    const token = await resolveAdminToken(
      { KONG_ADMIN_TOKEN_SECRET_ARN: ARN, KONG_ADMIN_TOKEN: 'from-env' },
      new SecretsManagerClient({}),
    );
    expect(token).toBe('from-sm');
  });

  it('falls back to KONG_ADMIN_TOKEN, or no token', async () => {
    const client = new SecretsManagerClient({});
    await expect(resolveAdminToken({ KONG_ADMIN_TOKEN: 'local' }, client)).resolves.toBe('local');
    await expect(resolveAdminToken({}, client)).resolves.toBeUndefined();
    expect(secretsManager.calls()).toHaveLength(0);
  });

  it('wraps a Secrets Manager failure in a ConfigError naming the variable', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(Object.assign(new Error('not allowed'), { name: 'AccessDenied' }));
    await expect(resolveAdminToken({ KONG_ADMIN_TOKEN_SECRET_ARN: ARN }, new SecretsManagerClient({}))).rejects.toThrow(
      /KONG_ADMIN_TOKEN_SECRET_ARN='.*': cannot read the Kong admin token \(AccessDenied: not allowed\)/,
    );
  });
});

describe('kongClientFromConfig', () => {
  let fake: FakeServer | undefined;
  afterEach(async () => fake?.close());

  it('builds a client that sends the secret token in the configured header', async () => {
    fake = await startFake(script({ status: 200, body: { version: '3.9.3' } }));
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'sm-token' });
    const config = loadConfig({
      KONG_ADMIN_URL: fake.url,
      KONG_ADMIN_TOKEN_SECRET_ARN: ARN,
      KONG_ADMIN_TOKEN_HEADER: 'X-Kong-Token',
      MESHGATE_STATE_DIR: '/tmp/meshgate-test',
    });
    const kong = await kongClientFromConfig(config, new SecretsManagerClient({}));
    try {
      await expect(kong.version()).resolves.toBe('3.9.3');
    } finally {
      kong.close();
    }
    expect(fake.requests[0]!.headers['x-kong-token']).toBe('sm-token');
  });
});
