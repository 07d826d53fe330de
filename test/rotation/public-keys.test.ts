import { generateKeyPairSync } from 'node:crypto';
import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import fc from 'fast-check';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kidFor } from '../../shared/consumers/keys.js';
import { keepingConsumers, republishPublicKeys, withConsumer } from '../../shared/consumers/public-keys.js';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, MESHGATE_REVOKED } from '../../shared/consumers/secrets.js';
import { rollbackKey } from '../../shared/operations/key-rollback.js';
import { emptyPublicKeyDocument, type KeyState, type PublicKeyDocument } from '../../shared/state/index.js';
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

describe('the JWKS of a publication (pure)', () => {
  const CONSUMERS = ['ann', 'ben', 'cat', 'dan'];
  const VERSIONS = ['v0', 'v1', 'v2', 'v3'];
  const T0 = Date.parse('2026-01-01T00:00:00.000Z');
  const pems = [0, 1].map((_) =>
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  // One key per consumer and version, created 5 s apart: grace ends fall inside the times the steps reach. A kid is
  // what the secret says: dan's v3 says ann's (the same key), so two consumers can publish one kid.
  const keyOf = (consumer: string, version: string) => {
    const index = VERSIONS.indexOf(version);
    return {
      kid: consumer === 'dan' && version === 'v3' ? 'ann-v3' : `${consumer}-${version}`,
      alg: 'ES256' as const,
      publicKeyPem: pems[index % pems.length]!,
      createdAt: new Date(T0 + index * 5_000).toISOString(),
      versionId: version,
    };
  };
  const consumer = fc.constantFrom(...CONSUMERS);
  const step = fc.record({
    // Mostly forward, sometimes back a little (concurrent writers each take `now` before their write).
    elapsedMs: fc.integer({ min: -8_000, max: 12_000 }),
    action: fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant('publish' as const),
          consumer,
          recreated: fc.boolean(),
          labels: fc.tuple(...VERSIONS.map(() => fc.subarray([AWSCURRENT, AWSPENDING, AWSPREVIOUS, MESHGATE_REVOKED]))),
          sent: fc.subarray(VERSIONS),
          graceMs: fc.integer({ min: 0, max: 30_000 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('rollback' as const),
          consumer,
          revoke: fc.option(fc.constantFrom(...VERSIONS)),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('republish' as const),
          consumer,
          graceMs: fc.integer({ min: 0, max: 30_000 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), consumer }) },
      // A JWKS edited apart from the entries (by hand, or by a writer that knows no better).
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('edit' as const) }) },
    ),
  });

  it('is, after any sequence of publications, rollbacks and removals, the JWKS recomputed from scratch', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 10, maxLength: 40 }), (steps) => {
        let document = emptyPublicKeyDocument(INSTANCE);
        let keyState: KeyState = { promotions: {}, rollbacks: {} };
        let now = T0;
        for (const { elapsedMs, action } of steps) {
          now += elapsedMs;
          const context = { now: new Date(now), keyState };
          const before = document;
          if (action.kind === 'rollback') {
            // Recorded, not yet published: the next publication must drop the revoked key from every consumer's.
            const { [action.consumer]: _recorded, ...others } = keyState.rollbacks;
            const intent = {
              consumer: action.consumer,
              secretArn: `arn:${action.consumer}`,
              restoreVersionId: 'v0',
              restoreKid: `${action.consumer}-v0`,
              revokeVersionId: action.revoke ?? '',
              revokeKid: `${action.consumer}-${action.revoke}`,
              by: 'test',
              recordedAt: new Date(now).toISOString(),
            };
            keyState = { ...keyState, rollbacks: action.revoke ? { ...others, [action.consumer]: intent } : others };
            continue;
          }
          if (action.kind === 'edit') {
            document = { ...document, keys: document.keys.slice(1) };
            continue;
          }
          if (action.kind === 'republish') {
            // The labels already published, again (a redelivered step, the rotateKeys schedule).
            const published = document.meshgate.consumers[action.consumer];
            if (!published) continue;
            const { secretArn, secretName, versionsToStages } = published;
            document = withConsumer(
              document,
              { consumer: action.consumer, secretArn, secretName, stages: versionsToStages, keys: [] },
              { graceMs: action.graceMs, ...context },
            );
          } else if (action.kind === 'remove') {
            const kept = Object.keys(document.meshgate.consumers).filter((name) => name !== action.consumer);
            document = keepingConsumers(document, new Set(kept), context);
          } else {
            const stages = Object.fromEntries(VERSIONS.map((version, i) => [version, action.labels[i]!]));
            document = withConsumer(
              document,
              {
                consumer: action.consumer,
                secretArn: `arn:${action.consumer}${action.recreated ? ':recreated' : ''}`,
                secretName: action.consumer,
                stages,
                keys: action.sent.map((version) => keyOf(action.consumer, version)),
              },
              { graceMs: action.graceMs, ...context },
            );
          }
          const fromScratch = keepingConsumers(
            { ...document, keys: [] },
            new Set(Object.keys(document.meshgate.consumers)),
            context,
          );
          expect(document.keys).toEqual(fromScratch.keys);
          // The same keys publish the same list, so an unchanged JWKS serializes from what was serialized before.
          const kids = (keys: PublicKeyDocument['keys']) => keys.map((jwk) => jwk.kid).join();
          expect(document.keys === before.keys).toBe(kids(document.keys) === kids(before.keys));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('puts a JWKS read out of kid order in order at the next publication, and keeps it in order', () => {
    const context = { graceMs: 60_000, now: new Date(T0 + 30_000), keyState: { promotions: {}, rollbacks: {} } };
    const publication = (consumer: string, stages: Record<string, string[]>) => ({
      consumer,
      secretArn: `arn:${consumer}`,
      secretName: consumer,
      stages,
      keys: Object.keys(stages).map((version) => keyOf(consumer, version)),
    });
    const written = withConsumer(
      emptyPublicKeyDocument(INSTANCE),
      publication('ann', { v0: [AWSCURRENT], v1: [AWSPENDING] }),
      context,
    );
    const read: PublicKeyDocument = JSON.parse(JSON.stringify({ ...written, keys: [...written.keys].reverse() }));

    // No key of ben's is live yet: the same keys, in order.
    const first = withConsumer(read, publication('ben', { v0: [] }), context);
    const second = withConsumer(first, publication('ben', { v0: [AWSCURRENT] }), context);

    expect(first.keys.map((jwk) => jwk.kid)).toEqual(['ann-v0', 'ann-v1']);
    expect(second.keys.map((jwk) => jwk.kid)).toEqual(['ann-v0', 'ann-v1', 'ben-v0']);
  });
});
