import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LoggedRequest } from '../../local/faults.js';
import {
  addSyncedConsumer,
  blockingPending,
  currentTokenVerdict,
  currentVersion,
  kongKids,
  type RotationWorld,
  rotate,
  startRotationWorld,
} from './harness.js';

/**
 * Every external call a rotation makes (Secrets Manager and Kong), failed one at a time: afterwards AWSCURRENT is
 * either unchanged (with the pending key gone from Kong and no AWSPENDING blocking) or the rotation completed, a token
 * signed with AWSCURRENT passes Kong, and the next rotation succeeds.
 */
let world: RotationWorld;

beforeAll(async () => {
  world = await startRotationWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

interface CallSite {
  service: 'aws' | 'kong';
  label: string;
  matches: (request: LoggedRequest) => boolean;
  nth: number;
}

/** The calls one rotation makes, in order, each as "the nth call of its kind" so a fault rule can target it. */
async function recordRotationCalls(): Promise<CallSite[]> {
  await addSyncedConsumer(world, 'alice');
  world.aws.requests.clear();
  world.kongDouble.requests.clear();
  await rotate(world, 'alice');
  const sites: CallSite[] = [];
  const seen = new Map<string, number>();
  const add = (service: CallSite['service'], key: string, matches: CallSite['matches']) => {
    const nth = (seen.get(`${service} ${key}`) ?? 0) + 1;
    seen.set(`${service} ${key}`, nth);
    sites.push({ service, label: `${service} ${key} #${nth}`, matches, nth });
  };
  for (const request of world.aws.requests.entries) {
    if (request.operation === 'RotateSecret' || request.operation === 'ListSecrets') continue; // made by the test
    const operation = request.operation;
    add('aws', operation ?? request.path, (candidate) => candidate.operation === operation);
  }
  for (const request of world.kongDouble.requests.entries) {
    const { method, path } = request;
    add('kong', `${method} ${path}`, (candidate) => candidate.method === method && candidate.path === path);
  }
  return sites;
}

describe('a failure at every external call of a rotation', () => {
  it('leaves AWSCURRENT working and the next rotation unblocked', async () => {
    const sites = await recordRotationCalls();
    expect(sites.filter((site) => site.service === 'aws').length).toBeGreaterThan(10);
    expect(sites.filter((site) => site.service === 'kong').length).toBeGreaterThan(3);

    const outcomes: string[] = [];
    for (const site of sites) {
      world.reset();
      await addSyncedConsumer(world, 'alice');
      const before = await currentVersion(world, 'alice');
      const oldToken = await currentTokenVerdict(world, 'alice');
      const faults = site.service === 'aws' ? world.aws.faults : world.kongDouble.faults;
      faults.inject({
        match: site.matches,
        nth: site.nth,
        status: 500,
        body: { message: `injected at ${site.label}` },
      });

      const result = await rotate(world, 'alice').then(
        (started) => ({ ok: true as const, versionId: started.versionId }),
        (error: Error) => ({ ok: false as const, error }),
      );
      faults.clear();
      const after = await currentVersion(world, 'alice');
      const context = `fault at ${site.label}`;
      if (result.ok) {
        // The fault hit after AWSCURRENT moved (retiring old credentials): the rotation stands.
        expect(after, context).not.toBe(before);
      } else {
        expect(result.error.message, context).toMatch(/during (createSecret|setSecret|testSecret|finishSecret) step/);
        expect(after, context).toBe(before);
        expect(await blockingPending(world, 'alice'), context).toBeUndefined();
        expect(await kongKids(world, 'alice'), context).toEqual([oldToken.kid]);
        expect(
          world.audit.map((event) => event.detailType),
          context,
        ).toEqual(['Key Rotation Failed']);
      }
      expect((await currentTokenVerdict(world, 'alice')).verdict, context).toMatchObject({ ok: true });
      expect(world.kongDouble.verifyJwt(oldToken.token, { keyClaimName: 'kid' }), context).toMatchObject({ ok: true });

      await expect(rotate(world, 'alice'), context).resolves.toBeDefined();
      expect((await currentTokenVerdict(world, 'alice')).verdict, context).toMatchObject({ ok: true });
      outcomes.push(`${site.label}: ${result.ok ? 'completed' : 'rolled back'}`);
    }
    expect(outcomes.filter((outcome) => outcome.endsWith('rolled back')).length).toBeGreaterThan(10);
  });

  it('a dropped connection to Kong during setSecret also rolls back cleanly', async () => {
    await addSyncedConsumer(world, 'alice');
    const before = await currentVersion(world, 'alice');
    // setSecret creates the pending credential with POST.
    world.kongDouble.faults.inject({ method: 'POST', path: /\/jwt$/, drop: true });
    await expect(rotate(world, 'alice')).rejects.toThrow('during setSecret step');
    expect(await currentVersion(world, 'alice')).toBe(before);
    expect(await blockingPending(world, 'alice')).toBeUndefined();
    expect((await currentTokenVerdict(world, 'alice')).verdict).toMatchObject({ ok: true });
    await rotate(world, 'alice');
  });
});
