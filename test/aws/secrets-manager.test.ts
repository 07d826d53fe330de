import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AwsDouble, startAwsDouble } from '../../local/aws/server.js';
import {
  isSecretsManagerError,
  SecretsManagerError,
  SecretsManagerJsonClient,
  secretsManagerEndpoint,
} from '../../shared/aws/secrets-manager.js';

const credentials = { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let double: AwsDouble;
/** The SDK's client, as the reference the answers are compared with. */
let sdk: SecretsManagerClient;

beforeAll(async () => {
  double = await startAwsDouble();
  sdk = new SecretsManagerClient({ endpoint: double.url, region: double.region, credentials, maxAttempts: 1 });
});
beforeEach(() => double.reset());
afterAll(async () => {
  sdk.destroy();
  await double.close();
});

const client = (env: NodeJS.ProcessEnv = { AWS_ENDPOINT_URL: double.url }) =>
  new SecretsManagerJsonClient({ region: double.region, credentials }, env);
const operations = () => double.requests.entries.map((entry) => `${entry.method} ${entry.operation}`);
const withoutMetadata = <T extends { $metadata?: unknown }>({ $metadata, ...rest }: T) => rest;

describe('Secrets Manager without the SDK client, against the AWS double', () => {
  it('makes each call meshgate makes, as a JSON 1.1 POST naming its operation, and reads what the SDK reads', async () => {
    const sm = client();
    double.registerFunction('rotator', async () => undefined);
    const rotator = `arn:aws:lambda:${double.region}:${double.account}:function:rotator`;

    const created = await sm.createSecret({
      Name: 'meshgate/consumers/alice',
      SecretString: 'v1',
      Tags: [{ Key: 'meshgate:consumer', Value: 'alice' }],
    });
    // No ClientRequestToken given: like the SDK, the client sends a new UUID, the first version's id.
    expect(created.VersionId).toMatch(UUID);
    const arn = created.ARN as string;
    const put = await sm.putSecretValue({ SecretId: arn, SecretString: 'v2', VersionStages: ['AWSPENDING'] });
    expect(put.VersionId).toMatch(UUID);
    await sm.updateSecretVersionStage({
      SecretId: arn,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: put.VersionId,
      RemoveFromVersionId: created.VersionId,
    });
    await sm.rotateSecret({
      SecretId: arn,
      RotationLambdaARN: rotator,
      RotationRules: { AutomaticallyAfterDays: 30 },
      RotateImmediately: false,
    });

    // The timestamps (epoch seconds on the wire) come back as the SDK's Dates, and the rest as the SDK reads it.
    const described = await sm.describeSecret({ SecretId: arn });
    expect(described).toEqual(withoutMetadata(await sdk.send(new DescribeSecretCommand({ SecretId: arn }))));
    expect(described.VersionIdsToStages?.[put.VersionId as string]).toEqual(['AWSCURRENT']);
    expect(described.CreatedDate).toBeInstanceOf(Date);
    expect(described.NextRotationDate).toBeInstanceOf(Date);
    expect((described.NextRotationDate as Date).getTime() - (described.CreatedDate as Date).getTime()).toBeCloseTo(
      30 * 86_400_000,
      -4,
    );

    const value = await sm.getSecretValue({ SecretId: arn, VersionStage: 'AWSCURRENT' });
    expect(value).toEqual(withoutMetadata(await sdk.send(new GetSecretValueCommand({ SecretId: arn }))));
    expect(value).toMatchObject({ SecretString: 'v2', VersionId: put.VersionId });
    expect(value.CreatedDate).toBeInstanceOf(Date);

    const filters = [{ Key: 'tag-key' as const, Values: ['meshgate:consumer'] }];
    const listed = await sm.listSecrets({ Filters: filters });
    expect(listed).toEqual(withoutMetadata(await sdk.send(new ListSecretsCommand({ Filters: filters }))));
    expect(listed.SecretList?.map((secret) => [secret.Name, secret.RotationEnabled])).toEqual([
      ['meshgate/consumers/alice', true],
    ]);
    expect(listed.SecretList?.[0]?.NextRotationDate).toEqual(described.NextRotationDate);

    // The bench counts calls by the operation the double reads from X-Amz-Target.
    expect(operations()).toEqual([
      'POST CreateSecret',
      'POST PutSecretValue',
      'POST UpdateSecretVersionStage',
      'POST RotateSecret',
      'POST DescribeSecret',
      'POST DescribeSecret',
      'POST GetSecretValue',
      'POST GetSecretValue',
      'POST ListSecrets',
      'POST ListSecrets',
    ]);
    sm.destroy();
  });

  it('names errors by Secrets Manager code, with HTTP status and attempts; a client error is not retried', async () => {
    const sm = client();
    const missing = await sm.getSecretValue({ SecretId: 'nope' }).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(SecretsManagerError);
    expect(missing).toMatchObject({
      name: 'ResourceNotFoundException',
      message: expect.stringContaining("can't find the specified secret"),
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
    expect(isSecretsManagerError(missing, 'ResourceNotFoundException')).toBe(true);
    expect(isSecretsManagerError(missing, 'ResourceExistsException')).toBe(false);
    expect(isSecretsManagerError(new Error('ResourceNotFoundException'), 'ResourceNotFoundException')).toBe(false);

    await sm.createSecret({ Name: 'app/key', SecretString: 'v1' });
    const exists = await sm.createSecret({ Name: 'app/key', SecretString: 'v1' }).catch((error: unknown) => error);
    expect(isSecretsManagerError(exists, 'ResourceExistsException')).toBe(true);

    double.faults.inject({
      match: (request) => request.operation === 'DescribeSecret',
      status: 400,
      body: { code: 'AccessDeniedException', message: 'not authorized' },
    });
    await expect(sm.describeSecret({ SecretId: 'app/key' })).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
    expect(operations()).toEqual([
      'POST GetSecretValue',
      'POST CreateSecret',
      'POST CreateSecret',
      'POST DescribeSecret',
    ]);
    sm.destroy();
  });

  it('retries throttling (ThrottlingException, 429) and 5xx, up to 3 attempts', async () => {
    const sm = client();
    await sm.createSecret({ Name: 'app/key', SecretString: 'v1' });
    const describe = (request: { operation?: string }) => request.operation === 'DescribeSecret';
    double.requests.clear();
    double.faults.inject({
      match: describe,
      status: 400,
      body: { code: 'ThrottlingException', message: 'Rate exceeded' },
    });
    double.faults.inject({ match: describe, status: 429, body: { code: 'TooManyRequests', message: 'slow down' } });
    expect((await sm.describeSecret({ SecretId: 'app/key' })).Name).toBe('app/key');
    expect(operations()).toHaveLength(3);

    double.faults.clear();
    double.requests.clear();
    double.faults.inject({ match: describe, status: 500, body: { code: 'InternalServiceError', message: 'oops' } });
    expect((await sm.describeSecret({ SecretId: 'app/key' })).Name).toBe('app/key');
    expect(operations()).toHaveLength(2);

    double.faults.clear();
    double.requests.clear();
    double.faults.inject({
      match: describe,
      times: Infinity,
      status: 503,
      body: { code: 'ServiceUnavailable', message: 'down' },
    });
    await expect(sm.describeSecret({ SecretId: 'app/key' })).rejects.toMatchObject({
      name: 'ServiceUnavailable',
      message: 'down',
      $metadata: { httpStatusCode: 503, attempts: 3 },
    });
    expect(operations()).toHaveLength(3);
    sm.destroy();
  });

  it('sends the same generated ClientRequestToken on every attempt of a call (the version a lost answer created)', async () => {
    const bodies: string[] = [];
    const failing = createServer(async (request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      response.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ __type: 'InternalServiceError', message: 'oops' }));
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const sm = client({ AWS_ENDPOINT_URL: `http://127.0.0.1:${(failing.address() as AddressInfo).port}` });
    try {
      await expect(sm.putSecretValue({ SecretId: 'app/key', SecretString: 'v2' })).rejects.toMatchObject({
        name: 'InternalServiceError',
        $metadata: { httpStatusCode: 500, attempts: 3 },
      });
      const tokens = bodies.map((body) => (JSON.parse(body) as { ClientRequestToken: string }).ClientRequestToken);
      expect(tokens).toHaveLength(3);
      expect(new Set(tokens).size).toBe(1);
      expect(tokens[0]).toMatch(UUID);
      // A token given is sent as is.
      bodies.length = 0;
      await sm
        .rotateSecret({ SecretId: 'app/key', ClientRequestToken: 'given-token-0000000000000000000000' })
        .catch(() => {});
      expect(bodies.map((body) => JSON.parse(body).ClientRequestToken)).toEqual(
        Array(3).fill('given-token-0000000000000000000000'),
      );
    } finally {
      sm.destroy();
      await new Promise((resolve) => failing.close(resolve));
    }
  });

  it('ends a request in flight when its signal aborts, and sends none once aborted', async () => {
    const sm = client();
    double.faults.inject({ match: (request) => request.operation === 'ListSecrets', delayMs: 30_000 });
    const controller = new AbortController();
    const pending = sm.listSecrets({}, controller.signal);
    await vi.waitFor(() => expect(operations()).toEqual(['POST ListSecrets']));
    controller.abort(new Error('Lambda timeout near'));
    await expect(pending).rejects.toThrow('Lambda timeout near');

    await expect(sm.describeSecret({ SecretId: 'app/key' }, controller.signal)).rejects.toThrow('Lambda timeout near');
    expect(operations()).toEqual(['POST ListSecrets']);
    sm.destroy();
  });
});

describe('Secrets Manager endpoint', () => {
  it("as the SDK's: Secrets Manager's own, then the general one, unless told to ignore both; else the region's", () => {
    const endpoint = (env: NodeJS.ProcessEnv, region = 'eu-west-1') => secretsManagerEndpoint(env, region).href;
    expect(endpoint({ AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://secrets:1/', AWS_ENDPOINT_URL: 'http://all:2/' })).toBe(
      'http://secrets:1/',
    );
    expect(endpoint({ AWS_ENDPOINT_URL: 'http://all:2/' })).toBe('http://all:2/');
    expect(endpoint({ AWS_ENDPOINT_URL: 'http://all:2/', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBe(
      'https://secretsmanager.eu-west-1.amazonaws.com/',
    );
    expect(endpoint({}, 'cn-north-1')).toBe('https://secretsmanager.cn-north-1.amazonaws.com.cn/');
  });

  it('is where the client sends its calls', async () => {
    const sm = client({ AWS_ENDPOINT_URL_SECRETS_MANAGER: double.url, AWS_ENDPOINT_URL: 'http://127.0.0.1:9/' });
    await sm.createSecret({ Name: 'app/key', SecretString: 'v1' });
    expect(operations()).toEqual(['POST CreateSecret']);
    sm.destroy();
  });
});
