import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addConsumer } from '../../shared/consumers/index.js';
import { callerVerdict, roleOf } from '../../shared/tokens/identity.js';
import { issueToken, type TokenSettings } from '../../shared/tokens/issue.js';
import {
  blockingPending,
  currentTokenVerdict,
  type RotationWorld,
  rotate,
  startRotationWorld,
  syncConsumers,
} from '../rotation/harness.js';

/** Token issuance by IAM role against the AWS double (Secrets Manager) and the Kong double (the jwt check). */
const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/workloads/orders-client`;
const ASSUMED = `arn:aws:sts::${ACCOUNT}:assumed-role/orders-client/i-0abc`;
const SETTINGS: TokenSettings = {
  ttlSeconds: 900,
  issuer: 'https://meshgate.example',
  audience: 'mesh',
  graceMs: 3_600_000,
};

let world: RotationWorld;
const audited = () => world.audit.filter((entry) => entry.detailType === 'Token Issued');
const deps = () => ({ secretsManager: world.sm, audit: { publish: world.deps.audit!.publish } });

beforeAll(async () => {
  world = await startRotationWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

async function orders() {
  await addConsumer(world.sm, {
    username: 'orders',
    alg: 'ES256',
    rotationLambdaArn: world.functionArn,
    iamRole: ROLE,
    publish: { store: world.deps.store, graceMs: world.deps.graceMs },
  });
  await syncConsumers(world);
}

describe('the caller’s role', () => {
  it('maps an assumed-role session to its role; IAM users and other accounts are refused', () => {
    expect(roleOf(ASSUMED)).toEqual({ account: ACCOUNT, roleName: 'orders-client' });
    expect(roleOf(ROLE)).toEqual({ account: ACCOUNT, roleName: 'orders-client' });
    expect(callerVerdict(`arn:aws:iam::${ACCOUNT}:user/alice`, ACCOUNT)).toMatchObject({ reason: 'not-a-role' });
    expect(callerVerdict('arn:aws:sts::999988887777:assumed-role/orders-client/x', ACCOUNT)).toMatchObject({
      reason: 'foreign-account',
    });
  });
});

describe('issueToken', () => {
  it('mapped role: a token for the consumer, signed with AWSCURRENT, accepted by Kong; the audit holds no token', async () => {
    await orders();
    const result = await issueToken(deps(), SETTINGS, { userArn: ASSUMED, ownAccount: ACCOUNT });
    expect(result.status).toBe(200);
    if (result.status !== 200) return;
    const claims = decodeJwt(result.body.token);
    expect(claims).toMatchObject({ sub: ROLE, kid: result.body.kid, iss: SETTINGS.issuer, aud: SETTINGS.audience });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    expect(decodeProtectedHeader(result.body.token)).toMatchObject({ alg: 'ES256', kid: result.body.kid });
    expect(world.kongDouble.verifyJwt(result.body.token, { keyClaimName: 'kid' })).toMatchObject({
      ok: true,
      key: result.body.kid,
    });
    expect(audited()).toEqual([
      { detailType: 'Token Issued', detail: expect.objectContaining({ outcome: 'issued', consumer: 'orders' }) },
    ]);
    expect(JSON.stringify(world.audit)).not.toContain(result.body.token);
    expect(JSON.stringify(world.audit)).not.toMatch(/PRIVATE KEY/);
  });

  it('unmapped role: 403, audited as refused', async () => {
    await orders();
    const result = await issueToken(deps(), SETTINGS, {
      userArn: `arn:aws:sts::${ACCOUNT}:assumed-role/someone-else/s`,
      ownAccount: ACCOUNT,
    });
    expect(result).toMatchObject({ status: 403, body: { message: expect.stringContaining('not the IAM role') } });
    expect(audited()).toEqual([
      { detailType: 'Token Issued', detail: expect.objectContaining({ outcome: 'refused', reason: 'unmapped-role' }) },
    ]);
  });

  it('foreign account: 403 even when the role name matches a consumer’s', async () => {
    await orders();
    const result = await issueToken(deps(), SETTINGS, {
      userArn: 'arn:aws:sts::999988887777:assumed-role/orders-client/s',
      ownAccount: ACCOUNT,
    });
    expect(result).toMatchObject({ status: 403 });
    expect(audited()[0]?.detail).toMatchObject({ reason: 'foreign-account' });
  });

  it('a TTL over one hour is refused', async () => {
    const result = await issueToken(deps(), SETTINGS, {
      userArn: ASSUMED,
      ownAccount: ACCOUNT,
      requestedTtlSeconds: 3601,
    });
    expect(result.status).toBe(400);
  });

  it('expired key: once a rotation retires the old key, tokens come from the new key and old ones are refused', async () => {
    world.deps.graceMs = 0;
    try {
      await orders();
      const before = await issueToken(deps(), { ...SETTINGS, graceMs: 0 }, { userArn: ASSUMED, ownAccount: ACCOUNT });
      await rotate(world, 'orders');
      const after = await issueToken(deps(), { ...SETTINGS, graceMs: 0 }, { userArn: ASSUMED, ownAccount: ACCOUNT });
      if (before.status !== 200 || after.status !== 200) throw new Error('expected tokens');
      expect(after.body.kid).not.toBe(before.body.kid);
      expect(world.kongDouble.verifyJwt(before.body.token, { keyClaimName: 'kid' })).toMatchObject({
        ok: false,
        message: "No credentials found for given 'kid'",
      });
      expect(world.kongDouble.verifyJwt(after.body.token, { keyClaimName: 'kid' })).toMatchObject({ ok: true });
    } finally {
      world.deps.graceMs = 3_600_000;
    }
  });

  it('rotation in flight (AWSPENDING set, finishSecret not yet run): signed with AWSCURRENT, accepted by Kong', async () => {
    await orders();
    const current = await currentTokenVerdict(world, 'orders');
    world.wrapFunction(async (event, next) => (event.Step === 'finishSecret' ? 'held' : next(event)));
    await rotate(world, 'orders');
    expect(await blockingPending(world, 'orders')).toBeDefined();
    const result = await issueToken(deps(), SETTINGS, { userArn: ASSUMED, ownAccount: ACCOUNT });
    if (result.status !== 200) throw new Error(JSON.stringify(result));
    expect(result.body.kid).toBe(current.kid);
    expect(world.kongDouble.verifyJwt(result.body.token, { keyClaimName: 'kid' })).toMatchObject({ ok: true });
  });
});
