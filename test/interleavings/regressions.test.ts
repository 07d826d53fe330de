import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { kidFor } from '../../shared/consumers/keys.js';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, holderOf } from '../../shared/consumers/secrets.js';
import { entityId } from '../../shared/kong/ownership.js';
import { freezeSync, rollbackConsumerKey, rollbackSync } from '../../shared/operations/operations.js';
import { type RotationEvent, rotateStep } from '../../shared/rotation/steps.js';
import { startRotation } from '../../shared/rotation-schedule/schedule.js';
import { OWNED_TAGS, type SyncWorld, startWorld } from '../mesh-sync/world.js';
import { type ModelWorld, type Observations, prepareModelWorld, ROTATION_FUNCTION, StalledWriter } from './world.js';

/** One test per way the writers used to lose or resurrect a key, each failing without the lease and its fixes. */

let world: SyncWorld;
let model: ModelWorld;
const seen: Observations = { frozen: false, frozenWrites: [], foreignWrites: [] };
const HOUR = 3_600_000;

beforeAll(async () => {
  world = await startWorld();
  const store = world.app.store;
  const setFreeze = store.setFreeze.bind(store);
  store.setFreeze = async (request) => {
    seen.frozen = true;
    return setFreeze(request);
  };
}, 60_000);
afterAll(() => world?.close());
beforeEach(async () => {
  seen.frozen = false;
  seen.frozenWrites.length = 0;
  seen.foreignWrites.length = 0;
  model = await prepareModelWorld(world, seen, OWNED_TAGS);
  await model.runSync({ kind: 'full', reason: 'initial', dryRun: false });
});

const full = { kind: 'full' as const, reason: 'schedule', dryRun: false as const };
const current = async (username: string) => holderOf(await model.stages(username), AWSCURRENT) as string;

/** Runs the real rotation function, letting `around` act before or after any step. */
function rotationFunction(around: (event: RotationEvent, step: () => Promise<unknown>) => Promise<unknown>) {
  world.aws.registerFunction(ROTATION_FUNCTION, async (event) => {
    const deps = await model.rotationDeps();
    return around(event as RotationEvent, () => rotateStep(deps, event as RotationEvent));
  });
}

describe('regressions: one writer at a time, no lost or resurrected key', () => {
  it('a drift-repair sync that read the keys before a rotation finished does not delete the new current credential', async () => {
    const deps = await model.syncDeps('sync');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const readConsumers = deps.readConsumers;
    deps.readConsumers = async () => {
      const read = await readConsumers();
      await gate; // the rotation runs while this sync holds what it read
      return read;
    };
    // The rotation's steps wait for the sync's lease (long enough for a loaded machine).
    world.aws.registerFunction(ROTATION_FUNCTION, async (event) =>
      rotateStep({ ...(await model.rotationDeps()), lease: { waitMs: 10_000, pollMs: 3 } }, event as RotationEvent),
    );
    const { runMeshSync } = await import('../../shared/mesh-sync/pipeline.js');
    const sync = runMeshSync(deps, full, world.app.config, { lease: { pollMs: 3 } });
    await sleep(30);
    const rotation = startRotation(world.clients.secretsManager, 'alice');
    await sleep(30);
    release();
    await Promise.all([sync, rotation]);
    expect(await model.verdict('alice', await current('alice'))).toBe(true);
  });

  it('a sync already running does not apply after the operator rolled back and froze', async () => {
    await model.register('search-1', '10.0.9.1');
    await model.runSync(full); // a full apply: its pre-apply snapshot is `previous`
    await model.register('search-2', '10.0.9.2');
    const deps = await model.syncDeps('sync');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const readMesh = deps.readMesh;
    deps.readMesh = async (signal) => {
      const mesh = await readMesh(signal);
      await gate;
      return mesh;
    };
    const { runMeshSync } = await import('../../shared/mesh-sync/pipeline.js');
    const sync = runMeshSync(deps, full, world.app.config, { lease: { pollMs: 3 } });
    await sleep(30);
    // The operator's rollback waits for the running sync (the lease), then wins.
    const ops = { ...(await model.opsDeps()), lease: { waitMs: 10_000, pollMs: 3 } };
    const rollback = rollbackSync(ops, { to: 'previous', freeze: true, by: 'op' }, world.app.config);
    await sleep(30);
    release();
    await Promise.all([sync, rollback]);
    expect(seen.frozenWrites).toEqual([]);
    const targets = await (await world.app.kong()).list('target', {
      upstream: (await (await world.app.kong()).list('upstream'))[0]?.id,
    });
    // The rollback's state stands: the sync that read search-2 before it did not apply it afterwards.
    expect(targets.map((target) => target.target)).not.toContain('10.0.9.2:8080');
  });

  it('rollback sync does not restore the credential of a key that rollback key revoked', async () => {
    await startRotation(world.clients.secretsManager, 'alice');
    const rotated = await current('alice');
    await model.register('search-1', '10.0.9.1');
    await model.runSync(full); // snapshot with alice's rotated credential in it
    await model.register('search-2', '10.0.9.2');
    await model.runSync(full);
    await rollbackConsumerKey(await model.opsDeps(), { consumer: 'alice', by: 'op' }, world.app.config);
    expect(await model.verdict('alice', rotated)).toBe(false);
    await rollbackSync(await model.opsDeps(), { to: 'previous', freeze: true, by: 'op' }, world.app.config);
    expect(await model.verdict('alice', rotated)).toBe(false);
    expect(await model.verdict('alice', await current('alice'))).toBe(true);
  });

  it('a key rollback that failed in Secrets Manager half-way is finished by the re-run, not chosen anew', async () => {
    const original = await current('alice');
    await startRotation(world.clients.secretsManager, 'alice');
    const bad = await current('alice');
    // The second label move (MESHGATE_REVOKED) fails once: AWSCURRENT already went back.
    world.aws.faults.inject({
      match: (request) => request.operation === 'UpdateSecretVersionStage',
      nth: 2,
      status: 400,
      body: { __type: 'InvalidRequestException', message: 'injected' },
    });
    const ops = await model.opsDeps();
    await expect(rollbackConsumerKey(ops, { consumer: 'alice', by: 'op' }, world.app.config)).rejects.toThrow();
    const again = await rollbackConsumerKey(ops, { consumer: 'alice', by: 'op' }, world.app.config);
    expect(again.resumed).toBe(true);
    expect(await current('alice')).toBe(original);
    expect(await model.verdict('alice', original)).toBe(true);
    expect(await model.verdict('alice', bad)).toBe(false);
  });

  it('a key rollback that failed in Kong leaves the revoked key refused and is finished by the re-run', async () => {
    const original = await current('alice');
    await startRotation(world.clients.secretsManager, 'alice');
    const bad = await current('alice');
    world.kong.faults.inject({ method: 'DELETE', nth: 1, times: 4, status: 503, body: { message: 'down' } });
    const ops = await model.opsDeps();
    await expect(rollbackConsumerKey(ops, { consumer: 'alice', by: 'op' }, world.app.config)).rejects.toThrow();
    world.kong.faults.clear();
    // A sync meanwhile keeps the revoked key out: the recorded intent, not the labels, decides.
    await model.runSync(full);
    expect(await model.verdict('alice', bad)).toBe(false);
    await rollbackConsumerKey(ops, { consumer: 'alice', by: 'op' }, world.app.config);
    expect(await current('alice')).toBe(original);
    expect(await model.verdict('alice', bad)).toBe(false);
  });

  it("the demoted key's grace counts from its successor's promotion, not its creation", async () => {
    const before = await current('alice');
    // The rotation began two hours ago (the new key was created then) and finishes now.
    rotationFunction(async (event, step) => {
      if (event.Step !== 'createSecret') return step();
      const deps = { ...(await model.rotationDeps()), now: () => new Date(Date.now() - 2 * HOUR) };
      return rotateStep(deps, event);
    });
    await startRotation(world.clients.secretsManager, 'alice');
    await model.runSync(full);
    expect(holderOf(await model.stages('alice'), AWSPREVIOUS)).toBe(before);
    expect(await model.verdict('alice', before)).toBe(true);
  });

  it('a rotation whose setSecret failed because Kong was down removes AWSPENDING; the next rotation runs', async () => {
    world.kong.faults.inject({
      method: '*',
      path: /\/jwt/,
      nth: 1,
      times: 100,
      status: 503,
      body: { message: 'down' },
    });
    await expect(startRotation(world.clients.secretsManager, 'bob')).rejects.toThrow();
    const stages = await model.stages('bob');
    expect(holderOf(stages, AWSPENDING)).toBeUndefined();
    world.kong.faults.clear();
    const before = await current('bob');
    await startRotation(world.clients.secretsManager, 'bob');
    expect(await current('bob')).not.toBe(before);
    expect(await model.verdict('bob', await current('bob'))).toBe(true);
  });

  it("finishSecret writes the new key's credential when Kong lost it after setSecret", async () => {
    rotationFunction(async (event, step) => {
      if (event.Step === 'finishSecret') {
        // Something (a restore, an operator) removed the pending credential between setSecret and finishSecret.
        const kong = await world.app.kong();
        const username = 'alice';
        const kid = kidFor(username, event.ClientRequestToken);
        const credential = await kong.get('jwt', entityId(world.app.config.MESHGATE_INSTANCE, 'jwt', kid), {
          parent: entityId(world.app.config.MESHGATE_INSTANCE, 'consumer', username),
        });
        if (credential) await kong.delete('jwt', credential);
      }
      return step();
    });
    await startRotation(world.clients.secretsManager, 'alice');
    expect(await model.verdict('alice', await current('alice'))).toBe(true);
  });

  it('a key rollback that stalls past its lease while another writer takes it over writes nothing more to Kong', async () => {
    const original = await current('alice');
    await startRotation(world.clients.secretsManager, 'alice');
    const bad = await current('alice');
    // Where the rollback's first Kong write falls: a run of the same rollback (later undone by a rotation).
    const probe = new StalledWriter(Number.POSITIVE_INFINITY, async () => undefined);
    await rollbackConsumerKey(await model.opsDeps(probe), { consumer: 'alice', by: 'op' }, world.app.config);
    const firstWrite = probe.requests.findIndex((request) => /^(create|update|upsert|delete) /.test(request)) + 1;
    expect(probe.requests.slice(firstWrite)).toContainEqual(expect.stringMatching(/^upsert plugin /));
    await startRotation(world.clients.secretsManager, 'alice');
    const badAgain = await current('alice');
    // The rollback stalls right after that write (the bad key's credential deleted); its lease expires and the
    // operator's freeze takes it over by ETag. The edge JWKS still lists the bad key: the rollback's next write.
    const taker = vi.fn(async () => {
      await freezeSync({ ...(await model.opsDeps()), lease: { waitMs: 2_000, pollMs: 3 } }, { reason: 'x', by: 'op' });
    });
    const stall = new StalledWriter(firstWrite, taker);
    const stalled = rollbackConsumerKey(await model.opsDeps(stall), { consumer: 'alice', by: 'op' }, world.app.config);
    await expect(stalled).rejects.toThrow(
      /the state-store lease of rollback:key:alice#\S+ (was taken over|could not be renewed in time)/,
    );
    expect(taker).toHaveBeenCalledTimes(1);
    expect(stall.tookOver).toBe(true);
    // The stale holder stopped before its next write (the JWKS upsert): after the one it stalled after, it only read.
    expect(stall.requests[firstWrite - 1]).toMatch(/^delete jwt /);
    expect(stall.requests.slice(firstWrite).filter((request) => !/^(get|list) /.test(request))).toEqual([]);
    expect(stall.staleWrites).toEqual([]);
    // The recorded intent survives the stop: the operator's re-run finishes it.
    await rollbackConsumerKey(await model.opsDeps(), { consumer: 'alice', by: 'op' }, world.app.config);
    expect(await current('alice')).toBe(original);
    expect(await model.verdict('alice', original)).toBe(true);
    expect(await model.verdict('alice', bad)).toBe(false);
    expect(await model.verdict('alice', badAgain)).toBe(false);
  });

  it('a key rollback that stalls past its lease after its Kong writes leaves the labels to the next writer', async () => {
    await startRotation(world.clients.secretsManager, 'alice');
    // Where the rollback's last Kong write before the labels falls (the edge JWKS without the revoked key).
    const probe = new StalledWriter(Number.POSITIVE_INFINITY, async () => undefined);
    await rollbackConsumerKey(await model.opsDeps(probe), { consumer: 'alice', by: 'op' }, world.app.config);
    const lastWrite = probe.requests.findIndex((request) => /^upsert plugin /.test(request)) + 1;
    expect(lastWrite).toBeGreaterThan(0);
    await startRotation(world.clients.secretsManager, 'alice');
    const bad = await current('alice');
    const taker = vi.fn(async () => {
      await freezeSync({ ...(await model.opsDeps()), lease: { waitMs: 2_000, pollMs: 3 } }, { reason: 'x', by: 'op' });
    });
    const stall = new StalledWriter(lastWrite, taker);
    const stalled = rollbackConsumerKey(await model.opsDeps(stall), { consumer: 'alice', by: 'op' }, world.app.config);
    await expect(stalled).rejects.toThrow(/the state-store lease of rollback:key:alice#\S+/);
    expect(stall.tookOver).toBe(true);
    // Stopped before the labels: AWSCURRENT is still the key being rolled back; the recorded intent finishes it.
    expect(await current('alice')).toBe(bad);
    await rollbackConsumerKey(await model.opsDeps(), { consumer: 'alice', by: 'op' }, world.app.config);
    expect(await current('alice')).not.toBe(bad);
    expect(await model.verdict('alice', bad)).toBe(false);
  });
});
