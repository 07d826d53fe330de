import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConsumers } from '../../shared/consumers/registry.js';
import { ROTATION_STEPS, type RotationEvent, rotateStep } from '../../shared/rotation/steps.js';
import {
  addSyncedConsumer,
  blockingPending,
  currentTokenVerdict,
  currentVersion,
  kongKids,
  type RotationWorld,
  rotate,
  startRotationWorld,
  syncConsumers,
} from './harness.js';

let world: RotationWorld;

beforeAll(async () => {
  world = await startRotationWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

const smWrites = () =>
  world.aws.requests.count((request) =>
    ['PutSecretValue', 'UpdateSecretVersionStage'].includes(request.operation ?? ''),
  );
const kongWrites = () => world.kongDouble.requests.writes().length;

describe('redelivered steps', () => {
  it('a second delivery of every step changes nothing; after the rotation every step returns at once', async () => {
    await addSyncedConsumer(world, 'alice');
    const redeliveries: { step: string; smWrites: number; kongWrites: number }[] = [];
    world.wrapFunction(async (event, next) => {
      await next(event);
      const sm = smWrites();
      const kong = kongWrites();
      await next(event);
      redeliveries.push({ step: event.Step, smWrites: smWrites() - sm, kongWrites: kongWrites() - kong });
      return undefined;
    });
    const { versionId } = await rotate(world, 'alice');
    // finishSecret's redelivery finds the token AWSCURRENT already.
    expect(redeliveries).toEqual(ROTATION_STEPS.map((step) => ({ step, smWrites: 0, kongWrites: 0 })));

    const SecretId = 'meshgate/consumers/alice';
    for (const Step of ROTATION_STEPS) {
      const outcome = await rotateStep(world.deps, { Step, SecretId, ClientRequestToken: versionId });
      expect(outcome.status).toBe('already-current');
    }
    expect((await currentTokenVerdict(world, 'alice')).verdict).toMatchObject({ ok: true });
  });
});

describe('a rotation interrupted between steps', () => {
  it.each(['setSecret', 'testSecret', 'finishSecret'] as const)(
    'resumes when the function dies before %s',
    async (diesBefore) => {
      await addSyncedConsumer(world, 'bob');
      const before = await currentVersion(world, 'bob');
      let pendingEvent: RotationEvent | undefined;
      world.wrapFunction(async (event, next) => {
        if (event.Step === diesBefore) {
          pendingEvent = event;
          // The process is gone: no step code (and so no cleanup) runs.
          throw new Error('Runtime exited without providing a reason');
        }
        return next(event);
      });
      await expect(world.sdk.send(new RotateSecretCommand({ SecretId: 'meshgate/consumers/bob' }))).rejects.toThrow(
        `during ${diesBefore} step`,
      );
      expect(await currentVersion(world, 'bob')).toBe(before);
      expect(await blockingPending(world, 'bob')).toBe(pendingEvent?.ClientRequestToken);
      // The current key keeps working while the rotation hangs, and Secrets Manager refuses a new one.
      expect((await currentTokenVerdict(world, 'bob')).verdict).toMatchObject({ ok: true });
      await expect(rotate(world, 'bob')).rejects.toThrow("A previous rotation isn't complete");

      // The retry resumes with the same token from the interrupted step on.
      for (const Step of ROTATION_STEPS.slice(ROTATION_STEPS.indexOf(diesBefore))) {
        await rotateStep(world.deps, { ...pendingEvent!, Step });
      }
      expect(await currentVersion(world, 'bob')).toBe(pendingEvent?.ClientRequestToken);
      expect(await blockingPending(world, 'bob')).toBeUndefined();
      const { kid, verdict } = await currentTokenVerdict(world, 'bob');
      expect(verdict).toMatchObject({ ok: true, key: kid });
    },
  );
});

describe('concurrency', () => {
  it('rotates several consumers at once', async () => {
    const names = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    for (const name of names) await addSyncedConsumer(world, name);
    const before = await Promise.all(names.map((name) => currentTokenVerdict(world, name)));
    await Promise.all(names.map((name) => rotate(world, name)));
    for (const [index, name] of names.entries()) {
      const { kid, verdict } = await currentTokenVerdict(world, name);
      expect(verdict).toMatchObject({ ok: true, key: kid });
      expect(kid).not.toBe(before[index]?.kid);
      expect(await kongKids(world, name)).toEqual([before[index]!.kid, kid].sort());
    }
  });

  it('a sync during a rotation keeps the pending credential (readConsumers includes it)', async () => {
    await addSyncedConsumer(world, 'dave');
    const pendingSeen: string[][] = [];
    world.wrapFunction(async (event, next) => {
      const result = await next(event);
      if (event.Step === 'createSecret' || event.Step === 'setSecret') {
        const { consumers } = await readConsumers(world.sm, { graceMs: world.deps.graceMs });
        const dave = consumers.find((consumer) => consumer.username === 'dave');
        pendingSeen.push(dave?.keys.filter((key) => key.stages.includes('AWSPENDING')).map((key) => key.kid) ?? []);
        await syncConsumers(world);
      }
      return result;
    });
    const { versionId } = await rotate(world, 'dave');
    const pendingKid = (await currentTokenVerdict(world, 'dave')).kid;
    expect(pendingSeen).toEqual([[pendingKid], [pendingKid]]);
    expect(await currentVersion(world, 'dave')).toBe(versionId);
    expect((await currentTokenVerdict(world, 'dave')).verdict).toMatchObject({ ok: true });
  });
});
