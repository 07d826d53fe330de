import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsDouble, startAwsDouble } from '../../local/aws/server.js';
import { SecretsManagerJsonClient } from '../../shared/aws/secrets-manager.js';
import { loadConfig } from '../../shared/config/index.js';
import { addConsumer, readConsumers } from '../../shared/consumers/index.js';

let double: AwsDouble;
let sm: SecretsManagerJsonClient;

beforeAll(async () => {
  double = await startAwsDouble();
  sm = new SecretsManagerJsonClient(
    { region: double.region, credentials: { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' } },
    { AWS_ENDPOINT_URL: double.url },
  );
});
afterAll(async () => {
  sm.destroy();
  await double.close();
});

describe('CONSUMER_SECRET_PREFIX', () => {
  it('is validated, with the deployed default', () => {
    expect(
      loadConfig({ KONG_ADMIN_URL: 'http://127.0.0.1:8001', MESHGATE_STATE_DIR: '/tmp/x' }).CONSUMER_SECRET_PREFIX,
    ).toBe('meshgate/consumers/');
    expect(() =>
      loadConfig({
        KONG_ADMIN_URL: 'http://127.0.0.1:8001',
        MESHGATE_STATE_DIR: '/tmp/x',
        CONSUMER_SECRET_PREFIX: 'bad prefix',
      }),
    ).toThrow(/CONSUMER_SECRET_PREFIX/);
  });

  it('names the secrets consumer add creates, and bounds what a sync reads', async () => {
    const created = await addConsumer(sm, { username: 'alice', alg: 'ES256', secretPrefix: 'team-a/keys/' });
    expect(created.secretArn).toContain(':secret:team-a/keys/alice-');
    // A consumer secret outside the prefix: the functions' IAM would refuse to read it, so it is not read.
    await sm.createSecret({
      Name: 'elsewhere/bob',
      SecretString: '{}',
      Tags: [{ Key: 'meshgate:consumer', Value: 'bob' }],
    });
    const { consumers, failures } = await readConsumers(sm, { graceMs: 3_600_000, secretPrefix: 'team-a/keys/' });
    expect(consumers.map((consumer) => consumer.username)).toEqual(['alice']);
    expect(failures).toEqual([]);
  });
});
