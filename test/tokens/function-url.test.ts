import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIssueTokenHandler } from '../../functions/issue-token/handler.js';
import { type FunctionUrl, startFunctionUrl } from '../../local/aws/function-url.js';
import { credentialsForRole, roleForAccessKey } from '../../local/aws/identity.js';
import { addConsumer } from '../../shared/consumers/index.js';
import { type RotationWorld, startRotationWorld, syncConsumers } from '../rotation/harness.js';

/**
 * The AWS double's function URL (AWS_IAM): the workload signs with the AWS SDK's own SigV4 signer and its
 * role-bound credentials; the double verifies the signature and hands the handler the signer's role.
 */
const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/orders-client`;
let world: RotationWorld;
let endpoint: FunctionUrl;

beforeAll(async () => {
  world = await startRotationWorld();
  const handler = createIssueTokenHandler(() => ({
    deps: { secretsManager: world.sm },
    settings: { ttlSeconds: 900, graceMs: 3_600_000 },
  }));
  endpoint = await startFunctionUrl(handler as never, {
    functionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:meshgate-local-issueToken`,
    region: 'us-east-1',
  });
});
afterAll(async () => {
  await endpoint.close();
  await world.close();
});
beforeEach(() => world.reset());

async function signedPost(roleArn: string, body: string, tamper = false) {
  const url = new URL(endpoint.url);
  const signer = new SignatureV4({
    service: 'lambda',
    region: 'us-east-1',
    credentials: credentialsForRole(roleArn),
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: {},
    headers: { host: url.host, 'content-type': 'application/json' },
    body,
  });
  return fetch(endpoint.url, { method: 'POST', headers: signed.headers, body: tamper ? `${body} ` : body });
}

describe('function URL with AWS_IAM auth', () => {
  it('role-bound credentials name their role in any process', () => {
    const { accessKeyId } = credentialsForRole(ROLE);
    expect(roleForAccessKey(accessKeyId)?.roleArn).toBe(ROLE);
    expect(roleForAccessKey('AKIAIOSFODNN7EXAMPLE')).toBeUndefined();
  });

  it('a request signed by the workload’s role gets its consumer’s token; unsigned or tampered ones get 403', async () => {
    await addConsumer(world.sm, {
      username: 'orders',
      alg: 'ES256',
      rotationLambdaArn: world.functionArn,
      iamRole: ROLE,
      publish: { store: world.deps.store, graceMs: world.deps.graceMs },
    });
    await syncConsumers(world);
    const ok = await signedPost(ROLE, '{}');
    expect(ok.status).toBe(200);
    const { token, consumer } = (await ok.json()) as { token: string; consumer: string };
    expect(consumer).toBe('orders');
    expect(world.kongDouble.verifyJwt(token, { keyClaimName: 'kid' })).toMatchObject({ ok: true });

    expect((await fetch(endpoint.url, { method: 'POST', body: '{}' })).status).toBe(403);
    expect((await signedPost(ROLE, '{}', true)).status).toBe(403);
    const stranger = await signedPost(`arn:aws:iam::${ACCOUNT}:role/stranger`, '{}');
    expect(stranger.status).toBe(403);
    expect(((await stranger.json()) as { message: string }).message).toContain('not the IAM role');
  });
});
