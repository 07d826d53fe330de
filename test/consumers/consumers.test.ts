import { randomUUID } from 'node:crypto';
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKey } from '../../shared/consumers/keys.js';
import { addConsumer, readConsumers } from '../../shared/consumers/registry.js';
import { MESHGATE_REVOKED } from '../../shared/consumers/secrets.js';
import { rollbackKey } from '../../shared/operations/key-rollback.js';
import { dueDate, startDueRotations } from '../../shared/rotation-schedule/schedule.js';
import { mintToken } from '../../shared/tokens/mint.js';
import {
  addSyncedConsumer,
  currentTokenVerdict,
  currentVersion,
  INSTANCE,
  kongKids,
  labels,
  type RotationWorld,
  rotate,
  startRotationWorld,
  syncConsumers,
} from '../rotation/harness.js';

let world: RotationWorld;

beforeAll(async () => {
  world = await startRotationWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

describe('readConsumers', () => {
  it('returns each consumer with its live public keys and IAM role; never private keys', async () => {
    await addConsumer(world.sm, {
      username: 'alice',
      alg: 'ES256',
      iamRole: 'arn:aws:iam::123456789012:role/alice',
    });
    const { consumers, failures } = await readConsumers(world.sm, { graceMs: 3_600_000 });
    expect(failures).toEqual([]);
    expect(consumers).toEqual([
      {
        username: 'alice',
        iamRole: 'arn:aws:iam::123456789012:role/alice',
        secretArn: expect.stringContaining(':secret:meshgate/consumers/alice-'),
        keys: [expect.objectContaining({ alg: 'ES256', stages: ['AWSCURRENT'] })],
      },
    ]);
    expect(JSON.stringify(consumers)).not.toContain('PRIVATE KEY');
  });

  it('keeps AWSPREVIOUS only within the grace period from the current key, and a pending key once it has a value', async () => {
    await addConsumer(world.sm, { username: 'bob', alg: 'ES256' });
    const v2 = randomUUID();
    await world.sdk.send(
      new PutSecretValueCommand({
        SecretId: 'meshgate/consumers/bob',
        ClientRequestToken: v2,
        SecretString: JSON.stringify(await generateKey('bob', v2, 'ES256')),
      }),
    );
    const stagesOf = async (graceMs: number, now?: Date) =>
      (await readConsumers(world.sm, { graceMs, now })).consumers[0]?.keys.map((key) => key.stages);
    expect(await stagesOf(60_000)).toEqual([['AWSPREVIOUS'], ['AWSCURRENT']]);
    expect(await stagesOf(60_000, new Date(Date.now() + 120_000))).toEqual([['AWSCURRENT']]);

    const v3 = randomUUID();
    await world.sdk.send(
      new PutSecretValueCommand({
        SecretId: 'meshgate/consumers/bob',
        ClientRequestToken: v3,
        SecretString: JSON.stringify(await generateKey('bob', v3, 'ES256')),
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(await stagesOf(60_000)).toEqual([['AWSPREVIOUS'], ['AWSCURRENT'], ['AWSPENDING']]);
  });

  it('reports a bad secret as a failure tied to it and still returns the others', async () => {
    await addConsumer(world.sm, { username: 'good', alg: 'ES256' });
    await world.sdk.send(
      new CreateSecretCommand({
        Name: 'meshgate/consumers/bad',
        SecretString: '{"kid": "bad", "privateKeyPem": "-----BEGIN PRIVATE KEY-----\\nnope"}',
        Tags: [{ Key: 'meshgate:consumer', Value: 'bad' }],
      }),
    );
    await world.sdk.send(
      new CreateSecretCommand({
        Name: 'not-json',
        SecretString: 'plain',
        Tags: [{ Key: 'meshgate:consumer', Value: 'nj' }],
      }),
    );
    const { consumers, failures } = await readConsumers(world.sm, { graceMs: 0 });
    expect(consumers.map((consumer) => consumer.username)).toEqual(['good']);
    expect(failures).toEqual([
      // Named as translation names the consumer: a sync keeps what a consumer it cannot read has in Kong.
      { object: 'consumer:bad', reason: expect.stringMatching(/not a meshgate key \(alg: .*publicKeyPem/) },
      { object: 'consumer:nj', reason: expect.stringContaining('SecretString is not JSON') },
    ]);
    expect(JSON.stringify(failures)).not.toContain('PRIVATE KEY');
  });
});

describe('addConsumer and mintToken', () => {
  it('refuses a bad name, a bad role and a duplicate, naming the value', async () => {
    await expect(addConsumer(world.sm, { username: 'a b', alg: 'ES256' })).rejects.toThrow("consumer name 'a b'");
    await expect(addConsumer(world.sm, { username: 'ok', alg: 'ES256', iamRole: 'role/x' })).rejects.toThrow(
      "--iam-role 'role/x'",
    );
    await addConsumer(world.sm, { username: 'ok', alg: 'ES256' });
    await expect(addConsumer(world.sm, { username: 'ok', alg: 'ES256' })).rejects.toThrow(
      'secret meshgate/consumers/ok already exists',
    );
  });

  it('configures rotation without rotating, and mints tokens Kong accepts with the current key', async () => {
    await addSyncedConsumer(world, 'erin');
    expect(Object.values(await labels(world, 'erin'))).toEqual([['AWSCURRENT']]);
    const { token, kid, expiresAt } = await mintToken(world.sm, 'erin', { ttlSeconds: 120 });
    expect(world.kongDouble.verifyJwt(token, { keyClaimName: 'kid' })).toMatchObject({ ok: true, key: kid });
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(120_000);
    await expect(mintToken(world.sm, 'erin', { ttlSeconds: 0 })).rejects.toThrow('ttlSeconds');
    await expect(mintToken(world.sm, 'nobody', { ttlSeconds: 60 })).rejects.toThrow(
      'no secret is tagged meshgate:consumer=nobody',
    );
  });
});

describe('rollbackKey', () => {
  it('restores the previous key, revokes the rolled-back one for good, and fixes Kong', async () => {
    world.deps.graceMs = 0; // the previous key's credential is retired by the rotation itself
    try {
      await addSyncedConsumer(world, 'frank');
      const original = await currentVersion(world, 'frank');
      const oldToken = await currentTokenVerdict(world, 'frank');
      const { versionId: rotated } = await rotate(world, 'frank');
      const newToken = await currentTokenVerdict(world, 'frank');
      expect(await kongKids(world, 'frank')).toEqual([newToken.kid]);

      const result = await rollbackKey(world.sm, world.kong, world.deps.store, {
        username: 'frank',
        instance: INSTANCE,
      });
      expect(result).toMatchObject({ consumer: 'frank', restoredKid: oldToken.kid, revokedKid: newToken.kid });
      expect(await currentVersion(world, 'frank')).toBe(original);
      expect((await labels(world, 'frank'))[rotated]).toContain(MESHGATE_REVOKED);
      expect(await kongKids(world, 'frank')).toEqual([oldToken.kid]);
      expect(world.kongDouble.verifyJwt(oldToken.token, { keyClaimName: 'kid' })).toMatchObject({ ok: true });
      expect(world.kongDouble.verifyJwt(newToken.token, { keyClaimName: 'kid' })).toMatchObject({ ok: false });

      // Neither a sync nor the next rotation brings the revoked key back.
      await syncConsumers(world);
      expect(await kongKids(world, 'frank')).toEqual([oldToken.kid]);
      world.deps.graceMs = 3_600_000;
      await rotate(world, 'frank');
      const third = await currentTokenVerdict(world, 'frank');
      expect(await kongKids(world, 'frank')).toEqual([oldToken.kid, third.kid].sort());
      await syncConsumers(world);
      expect(await kongKids(world, 'frank')).not.toContain(newToken.kid);
    } finally {
      world.deps.graceMs = 3_600_000;
    }
  });

  it('refuses without a previous key, or when the previous key was itself rolled back', async () => {
    await addSyncedConsumer(world, 'gina');
    await expect(
      rollbackKey(world.sm, world.kong, world.deps.store, { username: 'gina', instance: INSTANCE }),
    ).rejects.toThrow('no previous key');
    await rotate(world, 'gina');
    await rollbackKey(world.sm, world.kong, world.deps.store, { username: 'gina', instance: INSTANCE });
    await expect(
      rollbackKey(world.sm, world.kong, world.deps.store, { username: 'gina', instance: INSTANCE }),
    ).rejects.toThrow('was itself rolled back');
  });
});

describe('startDueRotations', () => {
  it('starts rotations whose rules say they are due, and only those', async () => {
    await addSyncedConsumer(world, 'hank');
    await addConsumer(world.sm, {
      username: 'ivy',
      alg: 'ES256',
      rotationLambdaArn: world.functionArn,
      rotationDays: 90,
    });
    const now = new Date(Date.now() + 31 * 86_400_000);
    const result = await startDueRotations(world.sm, { now });
    expect(result).toMatchObject({ started: [{ consumer: 'hank' }], notDue: 1, failures: [] });
    expect((await currentTokenVerdict(world, 'hank')).verdict).toMatchObject({ ok: true });

    const again = await startDueRotations(world.sm, { now: new Date(Date.now() + 29 * 86_400_000) });
    expect(again).toMatchObject({ started: [], notDue: 2 });
  });

  it('skips secrets whose rotation is disabled (never configured, or cancelled) and never re-enables them', async () => {
    await addConsumer(world.sm, { username: 'jack', alg: 'ES256' });
    await addConsumer(world.sm, { username: 'kate', alg: 'ES256', rotationLambdaArn: world.functionArn });
    await world.sdk.send(new CancelRotateSecretCommand({ SecretId: 'meshgate/consumers/kate' }));
    const result = await startDueRotations(world.sm, {
      now: new Date(Date.now() + 31 * 86_400_000),
      rotationLambdaArn: world.functionArn,
    });
    expect(result).toMatchObject({ started: [], failures: [], notDue: 2 });
    for (const name of ['jack', 'kate']) {
      const described = await world.sdk.send(new DescribeSecretCommand({ SecretId: `meshgate/consumers/${name}` }));
      expect(described.RotationEnabled ?? false).toBe(false);
    }
  });

  it('computes the due date from NextRotationDate, else last rotation plus the rules', () => {
    const created = new Date('2026-01-01T00:00:00Z');
    expect(dueDate({ CreatedDate: created }).toISOString()).toBe('2026-01-31T00:00:00.000Z');
    expect(dueDate({ CreatedDate: created, RotationRules: { AutomaticallyAfterDays: 7 } }).toISOString()).toBe(
      '2026-01-08T00:00:00.000Z',
    );
    const next = new Date('2026-03-01T00:00:00Z');
    expect(dueDate({ CreatedDate: created, NextRotationDate: next })).toBe(next);
  });
});
