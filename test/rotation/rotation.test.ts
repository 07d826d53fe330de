import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kidFor } from '../../shared/consumers/keys.js';
import {
  addSyncedConsumer,
  blockingPending,
  currentTokenVerdict,
  currentVersion,
  kongKids,
  labels,
  type RotationWorld,
  rotate,
  startRotationWorld,
} from './harness.js';

let world: RotationWorld;

beforeAll(async () => {
  world = await startRotationWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

describe('key rotation end to end (AWS double invoking the rotation function, Kong double)', () => {
  it('rotates: the new key becomes AWSCURRENT, Kong accepts old and new tokens, Key Rotated is audited', async () => {
    await addSyncedConsumer(world, 'alice');
    const before = await currentTokenVerdict(world, 'alice');
    expect(before.verdict).toMatchObject({ ok: true, key: before.kid });
    const oldVersion = await currentVersion(world, 'alice');

    const { versionId } = await rotate(world, 'alice');
    expect(await labels(world, 'alice')).toMatchObject({ [oldVersion!]: ['AWSPREVIOUS'] });
    expect(await currentVersion(world, 'alice')).toBe(versionId);
    expect(await blockingPending(world, 'alice')).toBeUndefined();

    const after = await currentTokenVerdict(world, 'alice');
    expect(after.kid).toBe(kidFor('alice', versionId));
    expect(after.verdict).toMatchObject({ ok: true, key: after.kid });
    // Within the grace period the previous key's tokens still pass.
    expect(world.kongDouble.verifyJwt(before.token, { keyClaimName: 'kid' })).toMatchObject({ ok: true });
    expect(await kongKids(world, 'alice')).toEqual([before.kid, after.kid].sort());

    expect(world.audit).toEqual([
      {
        detailType: 'Key Rotated',
        detail: expect.objectContaining({
          consumer: 'alice',
          kid: after.kid,
          previousKid: before.kid,
          step: 'finishSecret',
        }),
      },
    ]);
    expect(JSON.stringify(world.audit)).not.toMatch(/PRIVATE KEY|privateKeyPem/);
  });

  it('retires credentials older than AWSPREVIOUS, and AWSPREVIOUS itself once past the grace period', async () => {
    await addSyncedConsumer(world, 'bob');
    const first = (await currentTokenVerdict(world, 'bob')).kid;
    await rotate(world, 'bob');
    const second = (await currentTokenVerdict(world, 'bob')).kid;
    await rotate(world, 'bob');
    const third = (await currentTokenVerdict(world, 'bob')).kid;
    expect(await kongKids(world, 'bob')).toEqual([second, third].sort());
    expect(first).not.toBe(second);

    const grace = world.deps.graceMs;
    world.deps.graceMs = 0;
    try {
      await rotate(world, 'bob');
    } finally {
      world.deps.graceMs = grace;
    }
    const fourth = (await currentTokenVerdict(world, 'bob')).kid;
    expect(await kongKids(world, 'bob')).toEqual([fourth]);
  });

  it.each(['RS256', 'EdDSA'] as const)('rotates %s keys', async (alg) => {
    const previous = world.deps.alg;
    world.deps.alg = alg;
    try {
      await addSyncedConsumer(world, `carol-${alg.toLowerCase()}`);
      await rotate(world, `carol-${alg.toLowerCase()}`);
      const { verdict } = await currentTokenVerdict(world, `carol-${alg.toLowerCase()}`);
      expect(verdict).toMatchObject({ ok: true });
      const credentials = await world.kong.list('jwt');
      expect(credentials.every((credential) => credential.algorithm === alg)).toBe(true);
    } finally {
      world.deps.alg = previous;
    }
  });
});
