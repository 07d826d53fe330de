import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kidFor } from '../../shared/consumers/keys.js';
import { entityId } from '../../shared/kong/ownership.js';
import { TEST_ADMIN_TOKEN } from '../support/secrets.js';
import {
  addSyncedConsumer,
  blockingPending,
  currentTokenVerdict,
  currentVersion,
  INSTANCE,
  kongKids,
  type RotationWorld,
  rotate,
  startRotationWorld,
} from './harness.js';

/**
 * setSecret creates the pending key's credential with POST, never a PUT by id that would overwrite an entity no
 * longer meshgate's; an entity in the way (same id or same key, without meshgate's tags) is an ownership conflict
 * that fails the rotation cleanly and is reported.
 */

let world: RotationWorld;

beforeAll(async () => {
  world = await startRotationWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

async function admin(method: string, path: string, body?: unknown) {
  const response = await fetch(`${world.kongDouble.url}${path}`, {
    method,
    headers: { 'Kong-Admin-Token': TEST_ADMIN_TOKEN, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json().catch(() => undefined)) as Record<string, unknown> };
}

describe("rotation's credential writes", () => {
  it('creates the pending credential with POST, never PUT by id', async () => {
    await addSyncedConsumer(world, 'alice');
    world.kongDouble.requests.clear();

    await rotate(world, 'alice');

    const writes = world.kongDouble.requests.entries.filter((entry) => entry.method !== 'GET');
    expect(writes.filter((entry) => entry.method === 'POST' && /\/jwt$/.test(entry.path))).toHaveLength(1);
    expect(writes.filter((entry) => entry.method === 'PUT' && /\/jwt\//.test(entry.path))).toEqual([]);
  });

  it('a foreign credential holding the pending key is a conflict: rotation rolls back, the foreign one untouched', async () => {
    await addSyncedConsumer(world, 'bob');
    const before = await currentVersion(world, 'bob');
    const oldToken = await currentTokenVerdict(world, 'bob');
    const versionId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    const kid = kidFor('bob', versionId);
    const publicKeyPem = (await world.deps.store.readPublicKeys())?.meshgate.consumers.bob?.keys[0]?.publicKeyPem;
    expect((await admin('POST', '/consumers', { username: 'intruder' })).status).toBe(201);
    // The id meshgate would give the pending credential, and its key: a PUT by id would take it over.
    const foreign = await admin('POST', '/consumers/intruder/jwt', {
      id: entityId(INSTANCE, 'jwt', kid),
      key: kid,
      algorithm: 'ES256',
      rsa_public_key: publicKeyPem,
      secret: 'not-meshgate',
    });
    expect(foreign.status).toBe(201);

    await expect(
      world.sdk.send(new RotateSecretCommand({ SecretId: 'meshgate/consumers/bob', ClientRequestToken: versionId })),
    ).rejects.toThrow();

    expect(await currentVersion(world, 'bob')).toBe(before);
    expect(await blockingPending(world, 'bob')).toBeUndefined();
    expect(await kongKids(world, 'bob')).toEqual([oldToken.kid]);
    expect(world.kongDouble.verifyJwt(oldToken.token, { keyClaimName: 'kid' })).toMatchObject({ ok: true });
    // The foreign credential is exactly as it was.
    expect((await admin('GET', `/consumers/intruder/jwt/${foreign.body.id}`)).body).toEqual(foreign.body);
    const failed = world.audit.find((event) => event.detailType === 'Key Rotation Failed');
    expect(String(failed?.detail.error)).toContain('ownership conflict');
  });
});
