import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConsumers } from '../../shared/consumers/index.js';
import { emptyKongState } from '../../shared/kong/entities.js';
import { rollbackKey } from '../../shared/operations/key-rollback.js';
import { apply } from '../../shared/reconcile/apply.js';
import { diff } from '../../shared/reconcile/diff.js';
import { dump } from '../../shared/reconcile/dump.js';
import { plan } from '../../shared/reconcile/plan.js';
import { jwksPluginId, translate } from '../../shared/translate/index.js';
import {
  addSyncedConsumer,
  currentTokenVerdict,
  INSTANCE,
  type RotationWorld,
  rotate,
  startRotationWorld,
} from './harness.js';

/**
 * The edge JWKS follows every credential change: meshSync writes it, and rotation steps and key rollback refresh
 * it through refreshEdgeJwks, to exactly what the next sync would write (so that sync changes nothing).
 */
let world: RotationWorld;

beforeAll(async () => {
  world = await startRotationWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

const EMPTY_MESH = { gateways: [], gatewayRoutes: [], virtualServices: [], cloudMapServices: [], failures: [] };

async function desired() {
  const { consumers } = await readConsumers(world.sm, { graceMs: world.deps.graceMs });
  return translate({
    mesh: EMPTY_MESH,
    consumers,
    options: { instance: INSTANCE, tracingHeader: 'off', jwksPath: '/.well-known/jwks.json' },
  }).state;
}

/** What meshSync does: Kong made equal to the translation. */
async function sync() {
  const current = await dump(world.kong, { instance: INSTANCE });
  const result = await apply(world.kong, plan(diff(current, await desired())), {
    instance: INSTANCE,
    parallelism: 4,
  });
  expect(result.failed).toEqual([]);
}

async function jwks(): Promise<{ keys: { kid: string }[] }> {
  const plugin = await world.kong.get('plugin', jwksPluginId(INSTANCE));
  return JSON.parse(String(plugin?.config.body));
}

/** The changes a sync would make now: none when rotation kept the JWKS as translate builds it. */
async function pendingSyncChanges() {
  return diff(await dump(world.kong, { instance: INSTANCE }), await desired()).map((c) => `${c.action} ${c.name}`);
}

describe('edge JWKS through rotation and key rollback', () => {
  it('rotation adds the new key and keeps the old one in grace; both tokens verify; no sync drift', async () => {
    await addSyncedConsumer(world, 'alice');
    await sync();
    const before = await currentTokenVerdict(world, 'alice');
    expect((await jwks()).keys.map((k) => k.kid)).toEqual([before.kid]);

    await rotate(world, 'alice');
    const after = await currentTokenVerdict(world, 'alice');
    const document = await jwks();
    expect(document.keys.map((k) => k.kid)).toEqual([before.kid, after.kid].sort());
    const keySet = createLocalJWKSet(document as Parameters<typeof createLocalJWKSet>[0]);
    await jwtVerify(before.token, keySet);
    await jwtVerify(after.token, keySet);
    expect(await pendingSyncChanges()).toEqual([]);
    expect(JSON.stringify(document)).not.toMatch(/"d":/);
  });

  it('key rollback drops the revoked key from the JWKS and restores the previous one', async () => {
    world.deps.graceMs = 0;
    try {
      await addSyncedConsumer(world, 'frank');
      await sync();
      const original = await currentTokenVerdict(world, 'frank');
      await rotate(world, 'frank');
      const rotated = await currentTokenVerdict(world, 'frank');
      expect((await jwks()).keys.map((k) => k.kid)).toEqual([rotated.kid]);

      await rollbackKey(world.sm, world.kong, world.deps.store, { username: 'frank', instance: INSTANCE });
      const document = await jwks();
      expect(document.keys.map((k) => k.kid)).toEqual([original.kid]);
      const keySet = createLocalJWKSet(document as Parameters<typeof createLocalJWKSet>[0]);
      await jwtVerify(original.token, keySet);
      await expect(jwtVerify(rotated.token, keySet)).rejects.toThrow();
      expect(await pendingSyncChanges()).toEqual([]);
    } finally {
      world.deps.graceMs = 3_600_000;
    }
  });

  it('without a synced JWKS route, rotation writes none', async () => {
    await addSyncedConsumer(world, 'carol');
    await rotate(world, 'carol');
    expect(await world.kong.get('plugin', jwksPluginId(INSTANCE))).toBeUndefined();
    expect(emptyKongState().plugins).toEqual([]);
  });
});
