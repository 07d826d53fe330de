import type { APIGatewayProxyEventV2WithIAMAuthorizer, Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIssueTokenHandler } from '../../functions/issue-token/handler.js';
import { addConsumer } from '../../shared/consumers/index.js';
import { type RotationWorld, startRotationWorld, syncConsumers } from '../rotation/harness.js';

/** The function URL event as Lambda delivers it with AWS_IAM auth: the signer's identity in requestContext. */
let world: RotationWorld;
beforeAll(async () => {
  world = await startRotationWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

const ACCOUNT = '111122223333';
const context = {
  invokedFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:meshgate-dev-issueToken`,
  functionName: 'meshgate-dev-issueToken',
  awsRequestId: 'req-1',
} as Context;
const event = (userArn: string, body?: string) =>
  ({
    body,
    isBase64Encoded: false,
    requestContext: { authorizer: { iam: { userArn, accountId: ACCOUNT } } },
  }) as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;

describe('issueToken handler', () => {
  it('answers 200 with a no-store token for a mapped role, 403 for another, 400 for a bad body', async () => {
    await addConsumer(world.sm, {
      username: 'orders',
      alg: 'ES256',
      rotationLambdaArn: world.functionArn,
      iamRole: `arn:aws:iam::${ACCOUNT}:role/orders-client`,
      publish: { store: world.deps.store, graceMs: world.deps.graceMs },
    });
    await syncConsumers(world);
    const handler = createIssueTokenHandler(() => ({
      deps: { secretsManager: world.sm },
      settings: { ttlSeconds: 900, graceMs: 3_600_000 },
    }));
    const ok = await handler(
      event(`arn:aws:sts::${ACCOUNT}:assumed-role/orders-client/s`, '{"ttlSeconds":60}'),
      context,
    );
    expect(ok).toMatchObject({ statusCode: 200, headers: { 'cache-control': 'no-store' } });
    const { token } = JSON.parse((ok as { body: string }).body) as { token: string };
    expect(world.kongDouble.verifyJwt(token, { keyClaimName: 'kid' })).toMatchObject({ ok: true });
    expect(await handler(event(`arn:aws:sts::${ACCOUNT}:assumed-role/other/s`), context)).toMatchObject({
      statusCode: 403,
    });
    expect(await handler(event(`arn:aws:sts::${ACCOUNT}:assumed-role/orders-client/s`, 'nope'), context)).toMatchObject(
      { statusCode: 400 },
    );
  });
});
