import { describe, expect, it } from 'vitest';
import { roleEnv } from '../../local/aws/identity.js';
import { clientSettings } from '../../shared/aws/options.js';
import { SecretsManagerJsonClient } from '../../shared/aws/secrets-manager.js';
import { AWSCURRENT } from '../../shared/consumers/secrets.js';
import { ownedView as ownedViewOf, scheduledEvent, useSyncWorld } from './world.js';

const sync = useSyncWorld({ mesh: 'synced' });

/**
 * Public keys only: meshSync reads consumers from ListSecrets (names, tags, labels) and the state store's public-key
 * document; it never reads a consumer secret's value, and its role may not. A consumer whose document entry is
 * missing or stale is a read failure: it keeps its consumer and credentials in Kong.
 */

const ownedView = () => ownedViewOf(sync.world.kong);
const lastAudit = () => sync.world.audit().at(-1)?.detail ?? {};
const SECRET = 'meshgate/consumers/checkout';

describe('meshSync reads public keys only', () => {
  it('a full sync creates the consumer and its credential with zero GetSecretValue calls', async () => {
    await sync.world.resetKong();
    sync.world.aws.requests.clear();

    expect(await sync.world.invoke(scheduledEvent())).toMatchObject({ outcome: 'applied', leftOut: 0, kept: 0 });

    const view = await ownedView();
    expect(view.consumers.map((consumer) => consumer.username)).toEqual(['checkout']);
    expect(view.jwts).toHaveLength(1);
    // The admin token is cached by the warm app: every GetSecretValue here would be a consumer secret's.
    expect(sync.world.aws.requests.entries.filter((request) => request.operation === 'GetSecretValue')).toEqual([]);
    expect(sync.world.aws.requests.entries.some((request) => request.operation === 'ListSecrets')).toBe(true);
  });

  it("meshSync's and rollback's roles are refused GetSecretValue on a consumer secret", async () => {
    for (const fn of ['meshSync', 'rollback'] as const) {
      const env = { ...sync.world.aws.env(), ...roleEnv(sync.world.aws.functionRoles[fn]!, `meshgate-local-${fn}`) };
      const sm = new SecretsManagerJsonClient(clientSettings(env).common, env);
      await expect(sm.getSecretValue({ SecretId: SECRET })).rejects.toMatchObject({
        name: 'AccessDeniedException',
      });
      sm.destroy();
    }
  });

  it('a consumer missing from the document keeps its consumer and credentials, reported as kept', async () => {
    const before = await ownedView();
    await sync.world.app.store.updatePublicKeys((document) => ({
      ...document,
      meshgate: { ...document.meshgate, consumers: {} },
    }));

    const result = await sync.world.invoke(scheduledEvent());

    // Nothing changes, the edge JWKS included (it keeps the consumer's keys).
    expect(result).toMatchObject({ outcome: 'no-changes', kept: 2 });
    expect(await ownedView()).toEqual(before);
    expect(lastAudit()).toMatchObject({ kept: ['consumer:checkout', 'jwks:/.well-known/jwks.json'] });
  });

  it('an entry stale against the listed labels keeps the consumer as it is', async () => {
    const before = await ownedView();
    // An operator moves AWSCURRENT by hand to a new version nothing published: the listing and the document disagree.
    const { VersionId } = await sync.world.clients.secretsManager.putSecretValue({
      SecretId: SECRET,
      SecretString: JSON.stringify({ note: 'not a meshgate key' }),
      VersionStages: ['MANUAL'],
    });
    const described = await sync.world.clients.secretsManager.describeSecret({ SecretId: SECRET });
    const currentId = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) =>
      stages.includes(AWSCURRENT),
    )?.[0];
    await sync.world.clients.secretsManager.updateSecretVersionStage({
      SecretId: SECRET,
      VersionStage: AWSCURRENT,
      MoveToVersionId: VersionId,
      RemoveFromVersionId: currentId,
    });

    const result = await sync.world.invoke(scheduledEvent());

    expect(result).toMatchObject({ outcome: 'no-changes', kept: 2 });
    expect(await ownedView()).toEqual(before);
    expect(lastAudit()).toMatchObject({ kept: ['consumer:checkout', 'jwks:/.well-known/jwks.json'] });
    expect(JSON.stringify(lastAudit().errors)).toContain(`public-key document has ${AWSCURRENT} on version`);
  });
});
