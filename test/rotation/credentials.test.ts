import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureCredentials, retireCredentials } from '../../shared/consumers/credentials.js';
import { readConsumers } from '../../shared/consumers/registry.js';
import { addSyncedConsumer, INSTANCE, type RotationWorld, rotate, startRotationWorld } from './harness.js';

/** The credential helpers read one consumer's credentials as one list under it, never every consumer's. */

let world: RotationWorld;
beforeAll(async () => {
  world = await startRotationWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

const paths = () => world.kongDouble.requests.entries.map((entry) => `${entry.method} ${entry.path.split('?')[0]}`);

describe('consumer credentials in Kong', () => {
  it('ensure and retire read the consumer and its own credentials, not every consumer', async () => {
    await addSyncedConsumer(world, 'alice');
    await addSyncedConsumer(world, 'bob');
    await rotate(world, 'alice');
    const { consumers } = await readConsumers(world.sm, { graceMs: 0 });
    const alice = consumers.find((consumer) => consumer.username === 'alice')!;
    world.kongDouble.requests.clear();

    expect((await ensureCredentials(world.kong, INSTANCE, alice)).writes).toBe(0);
    const live = new Set(alice.keys.filter((key) => key.stages.includes('AWSCURRENT')).map((key) => key.kid));
    const retired = await retireCredentials(world.kong, INSTANCE, 'alice', live);

    // With no grace period, the key the rotation demoted is not live: its credential goes, bob's stay.
    expect(retired).toHaveLength(1);
    expect(live.has(retired[0]!)).toBe(false);
    expect(world.kongDouble.requests.writes().map((entry) => entry.method)).toEqual(['DELETE']);
    expect(paths().filter((path) => path.startsWith('GET '))).not.toContain('GET /jwts');
    expect(paths()).toContainEqual(expect.stringMatching(/^GET \/consumers\/[^/]+\/jwt$/));
  });

  it('under one lease, retiring after ensuring reads neither the credentials nor the edge JWKS again', async () => {
    await addSyncedConsumer(world, 'alice');
    await rotate(world, 'alice');
    const { consumers } = await readConsumers(world.sm, { graceMs: 0 });
    const alice = consumers.find((consumer) => consumer.username === 'alice')!;
    world.kongDouble.requests.clear();

    const ensured = await ensureCredentials(world.kong, INSTANCE, alice);
    const live = new Set(alice.keys.filter((key) => key.stages.includes('AWSCURRENT')).map((key) => key.kid));
    const retired = await retireCredentials(world.kong, INSTANCE, 'alice', live, ensured);

    expect(retired).toHaveLength(1);
    expect(world.kongDouble.requests.writes().map((entry) => entry.method)).toEqual(['DELETE']);
    const reads = paths().filter((path) => path.startsWith('GET '));
    expect(reads.filter((path) => /^GET \/consumers\/[^/]+\/jwt$/.test(path))).toHaveLength(1);
    expect(reads.filter((path) => path.startsWith('GET /plugins/'))).toHaveLength(1);
  });

  it('a Kong with a database refuses a duplicate create itself: a new credential is not looked up first', async () => {
    await addSyncedConsumer(world, 'alice');
    const { consumers } = await readConsumers(world.sm, { graceMs: 0 });
    const alice = consumers.find((consumer) => consumer.username === 'alice')!;
    const fresh = { ...alice.keys[0]!, kid: 'alice-fresh', versionId: 'v-fresh' };
    world.kongDouble.requests.clear();
    expect((await ensureCredentials(world.kong, INSTANCE, { ...alice, keys: [fresh] })).writes).toBe(1);
    expect(paths()).not.toContainEqual(expect.stringMatching(/^GET \/jwts\//));
  });

  it('retiring the credentials of a consumer Kong no longer has retires nothing', async () => {
    await expect(retireCredentials(world.kong, INSTANCE, 'nobody', new Set())).resolves.toEqual([]);
  });
});
