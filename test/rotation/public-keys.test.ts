import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kidFor } from '../../shared/consumers/keys.js';
import { republishPublicKeys, withConsumer } from '../../shared/consumers/public-keys.js';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, MESHGATE_REVOKED } from '../../shared/consumers/secrets.js';
import { rollbackKey } from '../../shared/operations/key-rollback.js';
import { emptyPublicKeyDocument, type PublicKeyDocument } from '../../shared/state/index.js';
import { mintToken } from '../../shared/tokens/mint.js';
import {
  addSyncedConsumer,
  INSTANCE,
  type RotationWorld,
  rotate,
  startRotationWorld,
  syncConsumers,
} from './harness.js';

/**
 * The public-key document in the state store: rotation steps, key rollback and the rotateKeys schedule publish each
 * consumer's public keys there (JWKS at the top, labels and grace ends beside); nothing else reads them.
 */

let world: RotationWorld;

beforeAll(async () => {
  world = await startRotationWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

const document = async (): Promise<PublicKeyDocument> => {
  const read = await world.deps.store.readPublicKeys();
  if (!read) throw new Error('no public-key document');
  return read;
};
const entryOf = async (consumer: string) => (await document()).meshgate.consumers[consumer];
const stageOf = (entry: Awaited<ReturnType<typeof entryOf>>, kid: string) =>
  entry?.keys.find((key) => key.kid === kid)?.stages;
const jwksKids = async () => (await document()).keys.map((key) => key.kid);

describe('the public-key document', () => {
  it('rotation publishes the new key and keeps the demoted one until its grace end; a JWKS reader verifies with it', async () => {
    await addSyncedConsumer(world, 'alice');
    const first = await mintToken(world.sm, 'alice', { ttlSeconds: 300 });
    expect(stageOf(await entryOf('alice'), first.kid)).toEqual([AWSCURRENT]);

    const before = Date.now();
    await rotate(world, 'alice');
    const second = await mintToken(world.sm, 'alice', { ttlSeconds: 300 });

    const entry = await entryOf('alice');
    expect(stageOf(entry, second.kid)).toEqual([AWSCURRENT]);
    expect(stageOf(entry, first.kid)).toEqual([AWSPREVIOUS]);
    const graceEnd = Date.parse(entry?.keys.find((key) => key.kid === first.kid)?.graceEndsAt ?? '');
    expect(graceEnd).toBeGreaterThanOrEqual(before + world.deps.graceMs);
    expect(await jwksKids()).toEqual([first.kid, second.kid].sort());
    // No private key, ever: the document holds public PEMs and JWKs only.
    expect(JSON.stringify(await document())).not.toMatch(/PRIVATE KEY|"d":/);

    // The top-level `keys` is a JWKS a verifier uses as is.
    const jwks = createLocalJWKSet({ keys: (await document()).keys as never });
    for (const token of [first.token, second.token]) {
      await expect(jwtVerify(token, jwks)).resolves.toMatchObject({ payload: { sub: 'alice' } });
    }
    // And a sync from the document alone agrees with what rotation left in Kong.
    await syncConsumers(world);
    expect(world.kongDouble.verifyJwt(first.token, { keyClaimName: 'kid' }).ok).toBe(true);
  });

  it('key rollback republishes the labels: the revoked key leaves the JWKS, the restored one is AWSCURRENT', async () => {
    await addSyncedConsumer(world, 'bob');
    const first = await mintToken(world.sm, 'bob', { ttlSeconds: 300 });
    await rotate(world, 'bob');
    const second = await mintToken(world.sm, 'bob', { ttlSeconds: 300 });

    await rollbackKey(world.sm, world.kong, world.deps.store, { username: 'bob', instance: INSTANCE });

    const entry = await entryOf('bob');
    expect(stageOf(entry, first.kid)).toEqual([AWSCURRENT]);
    expect(stageOf(entry, second.kid)).toEqual([AWSPREVIOUS, MESHGATE_REVOKED]);
    expect(await jwksKids()).toContain(first.kid);
    expect(await jwksKids()).not.toContain(second.kid);
    // A sync from the document never brings the revoked key back.
    await syncConsumers(world);
    expect(world.kongDouble.verifyJwt(second.token, { keyClaimName: 'kid' }).ok).toBe(false);
  });

  it('createSecret publishes the pending key before any credential exists for it', async () => {
    await addSyncedConsumer(world, 'carol');
    const token = '11111111-2222-4333-8444-555555555555';
    world.wrapFunction(async (event, next) => (event.Step === 'createSecret' ? next(event) : undefined));
    await world.sdk.send(new RotateSecretCommand({ SecretId: 'meshgate/consumers/carol', ClientRequestToken: token }));
    expect(stageOf(await entryOf('carol'), kidFor('carol', token))).toEqual([AWSPENDING]);
    expect(await jwksKids()).toContain(kidFor('carol', token));
  });

  it('the schedule rebuilds a lost document; a secret it cannot read keeps its entry', async () => {
    await addSyncedConsumer(world, 'dave');
    await addSyncedConsumer(world, 'erin');
    const published = await entryOf('erin');
    await world.deps.store.updatePublicKeys(() => emptyPublicKeyDocument(INSTANCE));
    await world.deps.store.updatePublicKeys((doc) => ({
      ...doc,
      meshgate: { ...doc.meshgate, consumers: { erin: published! } },
    }));
    world.aws.faults.inject({
      match: (request) => request.operation === 'GetSecretValue',
      status: 500,
      times: Number.POSITIVE_INFINITY,
    });
    const failed = await republishPublicKeys(world.deps.secretsManager, world.deps.store, { graceMs: 3_600_000 });
    expect(failed.failures.map((failure) => failure.object).sort()).toEqual(
      ['meshgate/consumers/dave', 'meshgate/consumers/erin'].sort(),
    );
    expect(await entryOf('erin')).toMatchObject({ keys: published?.keys });
    world.aws.faults.clear();

    const result = await republishPublicKeys(world.deps.secretsManager, world.deps.store, { graceMs: 3_600_000 });

    expect(result.published.sort()).toEqual(['dave', 'erin']);
    expect((await entryOf('dave'))?.keys).toHaveLength(1);
    await syncConsumers(world);
  });
});

describe('withConsumer (pure)', () => {
  it('keeps only labelled versions, reuses known keys, and drops a previous key past its grace from the JWKS', async () => {
    await addSyncedConsumer(world, 'frank');
    const entry = (await entryOf('frank'))!;
    const key = entry.keys[0]!;
    const now = new Date();
    const base = withConsumer(
      emptyPublicKeyDocument(INSTANCE),
      { ...entry, stages: entry.versionsToStages, keys: [key] },
      { graceMs: 1_000, now, keyState: { promotions: {}, rollbacks: {} } },
    );
    // A rotation: v2 is AWSCURRENT (created a second later), the first key is demoted and known by its version id.
    const v2 = {
      ...key,
      kid: 'frank-v2',
      versionId: 'v2',
      createdAt: new Date(Date.parse(key.createdAt) + 1_000).toISOString(),
    };
    const demoted = withConsumer(
      base,
      { ...entry, stages: { [key.versionId]: [AWSPREVIOUS], v2: [AWSCURRENT], gone: [] }, keys: [v2] },
      {
        graceMs: 1_000,
        now: new Date(Date.parse(key.createdAt) + 5_000),
        keyState: { promotions: {}, rollbacks: {} },
      },
    );
    const published = demoted.meshgate.consumers.frank?.keys ?? [];
    expect(published.map((each) => [each.kid, each.stages])).toEqual(
      [
        [key.kid, [AWSPREVIOUS]],
        ['frank-v2', [AWSCURRENT]],
      ].sort(),
    );
    expect(published.find((each) => each.kid === key.kid)?.graceEndsAt).toBe(
      new Date(Date.parse(v2.createdAt) + 1_000).toISOString(),
    );
    // Past its grace end the demoted key is no longer in the JWKS; its entry stays for a key rollback.
    expect(demoted.keys.map((jwk) => jwk.kid)).toEqual(['frank-v2']);
  });
});
