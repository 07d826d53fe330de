import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { roleEnv } from '../../local/aws/identity.js';
import { clientSettings } from '../../shared/aws/options.js';
import { AWSCURRENT } from '../../shared/consumers/secrets.js';
import { buildMesh, ownedView as ownedViewOf, type SyncWorld, scheduledEvent, startWorld } from './world.js';

/**
 * Public keys only: meshSync reads consumers from ListSecrets (names, tags, labels) and the state store's public-key
 * document; it never reads a consumer secret's value, and its role may not. A consumer whose document entry is
 * missing or stale is a read failure: it keeps its consumer and credentials in Kong.
 */

let world: SyncWorld;

beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.close();
});
beforeEach(async () => {
  await world.reset();
  await buildMesh(world.clients, world.app.store);
  expect(await world.invoke(scheduledEvent())).toMatchObject({ outcome: 'applied', leftOut: 0 });
});
afterEach(async () => {
  await world.expectUnownedUntouched();
});

const ownedView = () => ownedViewOf(world.kong);
const lastAudit = () => world.audit().at(-1)?.detail ?? {};
const SECRET = 'meshgate/consumers/checkout';

describe('meshSync reads public keys only', () => {
  it('a full sync creates the consumer and its credential with zero GetSecretValue calls', async () => {
    await world.resetKong();
    world.aws.requests.clear();

    expect(await world.invoke(scheduledEvent())).toMatchObject({ outcome: 'applied', leftOut: 0, kept: 0 });

    const view = await ownedView();
    expect(view.consumers.map((consumer) => consumer.username)).toEqual(['checkout']);
    expect(view.jwts).toHaveLength(1);
    // The admin token is cached by the warm app: every GetSecretValue here would be a consumer secret's.
    expect(world.aws.requests.entries.filter((request) => request.operation === 'GetSecretValue')).toEqual([]);
    expect(world.aws.requests.entries.some((request) => request.operation === 'ListSecrets')).toBe(true);
  });

  it("meshSync's and rollback's roles are refused GetSecretValue on a consumer secret", async () => {
    for (const fn of ['meshSync', 'rollback'] as const) {
      const sm = new SecretsManagerClient({
        ...clientSettings({ ...world.aws.env(), ...roleEnv(world.aws.functionRoles[fn]!, `meshgate-local-${fn}`) })
          .common,
      });
      await expect(sm.send(new GetSecretValueCommand({ SecretId: SECRET }))).rejects.toMatchObject({
        name: 'AccessDeniedException',
      });
      sm.destroy();
    }
  });

  it('a consumer missing from the document keeps its consumer and credentials, reported as kept', async () => {
    const before = await ownedView();
    await world.app.store.updatePublicKeys((document) => ({
      ...document,
      meshgate: { ...document.meshgate, consumers: {} },
    }));

    const result = await world.invoke(scheduledEvent());

    // Nothing changes, the edge JWKS included (it keeps the consumer's keys).
    expect(result).toMatchObject({ outcome: 'no-changes', kept: 2 });
    expect(await ownedView()).toEqual(before);
    expect(lastAudit()).toMatchObject({ kept: ['consumer:checkout', 'jwks:/.well-known/jwks.json'] });
  });

  it('an entry stale against the listed labels keeps the consumer as it is', async () => {
    const before = await ownedView();
    // An operator moves AWSCURRENT by hand to a new version nothing published: the listing and the document disagree.
    const { VersionId } = await world.clients.secretsManager.send(
      new PutSecretValueCommand({
        SecretId: SECRET,
        SecretString: JSON.stringify({ note: 'not a meshgate key' }),
        VersionStages: ['MANUAL'],
      }),
    );
    const described = await world.clients.secretsManager.send(new DescribeSecretCommand({ SecretId: SECRET }));
    const currentId = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) =>
      stages.includes(AWSCURRENT),
    )?.[0];
    await world.clients.secretsManager.send(
      new UpdateSecretVersionStageCommand({
        SecretId: SECRET,
        VersionStage: AWSCURRENT,
        MoveToVersionId: VersionId,
        RemoveFromVersionId: currentId,
      }),
    );

    const result = await world.invoke(scheduledEvent());

    expect(result).toMatchObject({ outcome: 'no-changes', kept: 2 });
    expect(await ownedView()).toEqual(before);
    expect(lastAudit()).toMatchObject({ kept: ['consumer:checkout', 'jwks:/.well-known/jwks.json'] });
    expect(JSON.stringify(lastAudit().errors)).toContain(`public-key document has ${AWSCURRENT} on version`);
  });
});
