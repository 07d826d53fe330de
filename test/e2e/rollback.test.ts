import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoMesh } from '../../local/demo/mesh.js';
import { ownedState, sameState } from '../../local/demo/observe.js';
import { LOCAL_INSTANCE, type LocalStack, startLocalStack } from '../../local/stack.js';
import { type AwsClients, createAwsClients } from '../../shared/aws/clients.js';
import { addConsumer } from '../../shared/consumers/index.js';
import { KongClient } from '../../shared/kong/client.js';
import { startRotation } from '../../shared/rotation-schedule/schedule.js';
import { mintToken } from '../../shared/tokens/mint.js';
import { TEST_ADMIN_TOKEN } from '../support/secrets.js';

/**
 * Issue 7 end to end, in process: the rollback function and meshSync run behind the local bus, the mesh changes
 * through the AWS SDK against the AWS double, Kong is read through its Admin API.
 */
let stack: LocalStack;
let clients: AwsClients;
let kong: KongClient;
let mesh: DemoMesh;

const sample = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8'));
const owned = () => ownedState(kong, LOCAL_INSTANCE);
// The mesh's routes; the edge JWKS route (meshgate-jwks) is meshgate's own.
const routeNames = async () =>
  (await owned()).routes
    .map((route) => route.name)
    .filter((name) => name !== 'meshgate-jwks')
    .sort();
const targets = async () => (await owned()).targets.map((target) => target.target).sort();
const meshSyncOutcomes = (from: number) =>
  stack.bus.invocations
    .slice(from)
    .filter((record) => record.function === 'meshSync')
    .map((record) => (record.result as { outcome?: string } | undefined)?.outcome ?? record.error);

async function settled<T>(work: Promise<T>): Promise<T> {
  const result = await work;
  await stack.bus.idle();
  return result;
}

beforeAll(async () => {
  stack = await startLocalStack({ adminToken: TEST_ADMIN_TOKEN, logLevel: 'WARN' });
  clients = createAwsClients(stack.env);
  kong = new KongClient({ url: stack.kong.url, token: TEST_ADMIN_TOKEN });
  mesh = new DemoMesh(clients);
  await mesh.createGatewayDiscovery([{ id: 'gw-1', ipv4: '10.0.1.11' }]);
  await mesh.createMesh([{ name: 'orders', tags: { 'meshgate:auth': 'jwt' } }, { name: 'catalog' }]);
  await stack.bus.idle();
});

afterAll(async () => {
  kong?.close();
  for (const client of Object.values(clients ?? {})) client.destroy();
  await stack?.close();
});

describe('rollback sync, freeze and resume through the rollback function', () => {
  it('rolls Kong back to the state before a bad change, and the freeze keeps mesh events from applying', async () => {
    expect(await routeNames()).toEqual(['shop.edge.catalog', 'shop.edge.orders']);
    const good = await owned();

    await settled(mesh.deleteRoute('catalog'));
    expect(await routeNames()).toEqual(['shop.edge.orders']);

    const rolledBack = (await settled(stack.bus.invoke('rollback', sample('rollback-sync-previous.json')))) as {
      outcome: string;
      frozen: boolean;
    };
    expect(rolledBack).toMatchObject({ outcome: 'applied', frozen: true });
    expect(sameState(good, await owned())).toBe(true);

    // While frozen, a mesh event plans and reports but applies nothing.
    const mark = stack.bus.invocations.length;
    await settled(mesh.register({ id: 'gw-2', ipv4: '10.0.1.12' }));
    await settled(mesh.tagGateway({ team: 'edge' }));
    expect(meshSyncOutcomes(mark)).toEqual(['planned', 'planned']);
    expect(sameState(good, await owned())).toBe(true);

    // Resume lifts the freeze and asks meshSync (an event its rule delivers) to converge with the mesh as it is now.
    expect(await settled(stack.bus.invoke('rollback', sample('rollback-resume.json')))).toEqual({ wasFrozen: true });
    expect(await routeNames()).toEqual(['shop.edge.orders']);
    expect(await targets()).toEqual(['10.0.1.11:8080', '10.0.1.12:8080']);
    expect(stack.kong.violations).toEqual([]);
  });
});

describe('rollback key through the rollback function', () => {
  const verdict = (token: string) => stack.kong.verifyJwt(token, { keyClaimName: 'kid' }).ok;
  const driftRepair = () => {
    stack.bus.fireSchedule('meshSync', 'meshgate-local-drift-repair');
    return stack.bus.idle();
  };

  it("refuses the rolled-back key's tokens, accepts the previous key's, and nothing brings the revoked key back", async () => {
    // events/rollback-key.json names consumer alice.
    await addConsumer(clients.secretsManager, {
      username: 'alice',
      alg: 'ES256',
      rotationLambdaArn: `arn:aws:lambda:${stack.aws.region}:${stack.aws.account}:function:meshgate-local-rotateKeys`,
    });
    // The rotateKeys schedule publishes the public keys meshSync reads.
    stack.bus.fireSchedule('rotateKeys');
    await stack.bus.idle();
    await driftRepair();
    const previous = await mintToken(clients.secretsManager, 'alice', { ttlSeconds: 600 });
    await settled(startRotation(clients.secretsManager, 'alice'));
    const rolledBackKey = await mintToken(clients.secretsManager, 'alice', { ttlSeconds: 600 });
    expect([verdict(previous.token), verdict(rolledBackKey.token)]).toEqual([true, true]);

    const result = await settled(stack.bus.invoke('rollback', sample('rollback-key.json')));
    expect(result).toMatchObject({ consumer: 'alice', restoredKid: previous.kid, revokedKid: rolledBackKey.kid });
    expect(verdict(rolledBackKey.token)).toBe(false);
    expect(verdict(previous.token)).toBe(true);
    expect((await mintToken(clients.secretsManager, 'alice', { ttlSeconds: 60 })).kid).toBe(previous.kid);

    // Neither a later sync nor a later rotation publishes the revoked key again.
    await driftRepair();
    expect(verdict(rolledBackKey.token)).toBe(false);
    await settled(startRotation(clients.secretsManager, 'alice'));
    await driftRepair();
    const latest = await mintToken(clients.secretsManager, 'alice', { ttlSeconds: 60 });
    expect(latest.kid).not.toBe(rolledBackKey.kid);
    expect([verdict(latest.token), verdict(previous.token), verdict(rolledBackKey.token)]).toEqual([true, true, false]);
    const kids = (await owned()).jwts.map((credential) => credential.key).sort();
    expect(kids).toEqual([latest.kid, previous.kid].sort());
  });
});

describe('bad payloads', () => {
  it.each([
    [
      { action: 'rollback-sync', to: 'yesterday' },
      /invalid operator command: to: expected 'previous' or a snapshot id \(got "yesterday"\)/,
    ],
    [{ action: 'rollback-key' }, /invalid operator command: consumer: expected a consumer name \(missing\)/],
    [{ action: 'freeze', reason: '' }, /invalid operator command: reason: expected a reason \(got ""\)/],
    [{ action: 'explode' }, /invalid operator command: action: expected action 'sync', 'rollback-sync'/],
    // The payload of an older release: not a rollback now, and not silently a sync either.
    [{ action: 'sync', to: 'previous' }, /invalid operator command: to: not a field of this action \(got "previous"\)/],
  ])('the rollback function refuses %j, naming the field', async (payload, message) => {
    const before = stack.kong.requests.writes().length;
    await expect(stack.bus.invoke('rollback', payload)).rejects.toThrow(message);
    expect(stack.kong.requests.writes().length).toBe(before);
  });

  it('rotateKeys fails a sample rotation step for an unknown secret without printing its RotationToken', async () => {
    // The sample's RotationToken is one of the secrets the suite's output scan looks for.
    await expect(stack.bus.invoke('rotateKeys', sample('rotation-createSecret.json'))).rejects.toThrow(
      /rotation of consumer \(unknown\) failed in createSecret: Secrets Manager can't find the specified secret/,
    );
  });
});
