import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateMeshCommand } from '@aws-sdk/client-app-mesh';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  DeregisterInstanceCommand,
  GetOperationCommand,
  RegisterInstanceCommand,
} from '@aws-sdk/client-servicediscovery';
import { roleEnv } from '../../local/aws/identity.js';
import { createApp } from '../../shared/app/context.js';
import { createAwsClients } from '../../shared/aws/clients.js';
import { addConsumer } from '../../shared/consumers/registry.js';
import { readKeyVersion } from '../../shared/consumers/secrets.js';
import type { SyncTrigger } from '../../shared/events/incoming.js';
import type { KongApi } from '../../shared/kong/api.js';
import { KongClient } from '../../shared/kong/client.js';
import type { MeshSyncDeps } from '../../shared/mesh-sync/pipeline.js';
import { runMeshSync } from '../../shared/mesh-sync/pipeline.js';
import type { OperationsDeps } from '../../shared/operations/operations.js';
import type { RotationDeps } from '../../shared/rotation/deps.js';
import { type RotationEvent, rotateStep } from '../../shared/rotation/steps.js';
import { signToken } from '../../shared/tokens/jwt.js';
import { MESH, NAMESPACE, type SyncWorld } from '../mesh-sync/world.js';
import { TEST_ADMIN_TOKEN } from '../support/secrets.js';

export const CONSUMERS = ['alice', 'bob'] as const;
export const ROTATION_FUNCTION = 'meshgate-model-rotateKeys';
/**
 * Short lease waits so that busy writers really defer ("pending") or give up within an interleaving. The request
 * budget is the Kong double's scale (its injected delays are tens of ms), so a holder stops writing only when it
 * truly could not renew for 4 s, not because a loaded machine delayed one renewal.
 */
export const LEASE = { waitMs: 150, ttlMs: 5_000, pollMs: 3, requestBudgetMs: 1_000 };
export const SYNC_LEASE = { waitMs: 40, ttlMs: 5_000, pollMs: 3, requestBudgetMs: 1_000 };

/** Which writer a Kong write came from: the "frozen" invariant allows only the operator's rollbacks. */
export type WriterKind = 'sync' | 'rotation' | 'rollback';

export interface Observations {
  frozen: boolean;
  /** Kong writes attempted while sync was frozen, by writers other than the operator's rollbacks. */
  frozenWrites: string[];
  /** Entities written without meshgate's ownership tags. */
  foreignWrites: string[];
}

/** A KongApi that reports writes to the observations before passing them on. */
export function observedKong(kong: KongApi, kind: WriterKind, seen: Observations, ownedTags: string[]): KongApi {
  const check = (what: string, entity: { id?: string; tags?: string[] | null }) => {
    if (seen.frozen && kind !== 'rollback') seen.frozenWrites.push(`${kind} ${what} ${entity.id}`);
    if (!ownedTags.every((tag) => entity.tags?.includes(tag))) seen.foreignWrites.push(`${kind} ${what} ${entity.id}`);
  };
  return {
    version: (signal) => kong.version(signal),
    list: (kind_, options) => kong.list(kind_, options),
    get: (kind_, key, options) => kong.get(kind_, key, options),
    create: (kind_, entity, signal) => {
      check(`create ${kind_}`, entity);
      return kong.create(kind_, entity, signal);
    },
    update: (kind_, entity, signal) => {
      check(`update ${kind_}`, entity);
      return kong.update(kind_, entity, signal);
    },
    upsert: (kind_, entity, signal) => {
      check(`upsert ${kind_}`, entity);
      return kong.upsert(kind_, entity, signal);
    },
    delete: (kind_, entity, signal) => {
      check(`delete ${kind_}`, entity);
      return kong.delete(kind_, entity, signal);
    },
  };
}

export interface ModelWorld {
  searchServiceId: string;
  syncDeps(kind: WriterKind): Promise<MeshSyncDeps>;
  opsDeps(): Promise<OperationsDeps>;
  rotationDeps(): Promise<RotationDeps>;
  runSync(trigger: SyncTrigger, kind?: WriterKind): Promise<unknown>;
  register(instanceId: string, ip: string): Promise<void>;
  deregister(instanceId: string): Promise<void>;
  /** Kong's verdict on a token signed with a given version's private key. */
  verdict(username: string, versionId: string): Promise<boolean>;
  stages(username: string): Promise<Record<string, string[]>>;
}

/** A small mesh (one exposed Cloud Map service), two consumers with rotation configured, a fresh state store. */
export async function prepareModelWorld(
  world: SyncWorld,
  seen: Observations,
  ownedTags: string[],
): Promise<ModelWorld> {
  await world.reset();
  await rm(join(world.env.MESHGATE_STATE_DIR as string, world.app.config.MESHGATE_INSTANCE), {
    recursive: true,
    force: true,
    maxRetries: 5,
  });
  const { serviceDiscovery, secretsManager: sm, appMesh } = world.clients;
  await appMesh.send(new CreateMeshCommand({ meshName: MESH }));
  const { OperationId } = await serviceDiscovery.send(new CreateHttpNamespaceCommand({ Name: NAMESPACE }));
  const { Operation } = await serviceDiscovery.send(new GetOperationCommand({ OperationId }));
  const { Service } = await serviceDiscovery.send(
    new CreateServiceCommand({
      Name: 'search',
      NamespaceId: Operation?.Targets?.NAMESPACE,
      Tags: [
        { Key: 'meshgate:expose', Value: 'true' },
        { Key: 'meshgate:paths', Value: '/search' },
        { Key: 'meshgate:auth', Value: 'jwt' },
      ],
    }),
  );
  const searchServiceId = Service?.Id ?? '';
  const app = world.app;
  const baseSync = await app.meshSyncDeps();
  // Each writer calls AWS as its own function's role, which the double enforces (as on AWS).
  const appAs = (fn: 'rotateKeys' | 'rollback') =>
    createApp(
      app.config,
      createAwsClients({ ...world.aws.env(), ...roleEnv(world.aws.functionRoles[fn]!, `meshgate-local-${fn}`) }),
    );
  const rotationApp = appAs('rotateKeys');
  const rollbackApp = appAs('rollback');
  // Few, fast retries: an injected fault fails the writer at once instead of being waited out.
  const kong = new KongClient({
    url: world.kong.url,
    token: TEST_ADMIN_TOKEN,
    retry: { maxAttempts: 2, baseDelayMs: 1 },
  });
  const owned = ownedTags;
  const tokens = new Map<string, string>();
  const model: ModelWorld = {
    searchServiceId,
    async syncDeps(kind) {
      return { ...baseSync, kong: observedKong(kong, kind, seen, owned) };
    },
    async opsDeps() {
      const base = await rollbackApp.operationsDeps((reason) =>
        model.runSync({ kind: 'full', reason, dryRun: false }).then(() => undefined),
      );
      // The world's store object (the test observes its freeze writes); the same folder as the rollback app's.
      return { ...base, store: app.store, kong: observedKong(kong, 'rollback', seen, owned), lease: LEASE };
    },
    async rotationDeps() {
      const base = await rotationApp.rotationDeps();
      return {
        ...base,
        store: app.store,
        kong: observedKong(kong, 'rotation', seen, owned),
        lease: LEASE,
        requestSync: (reason) => model.runSync({ kind: 'full', reason, dryRun: false }).then(() => undefined),
      };
    },
    async runSync(trigger, kind = 'sync') {
      return runMeshSync(await model.syncDeps(kind), trigger, app.config, { lease: SYNC_LEASE });
    },
    async register(instanceId, ip) {
      await serviceDiscovery.send(
        new RegisterInstanceCommand({
          ServiceId: searchServiceId,
          InstanceId: instanceId,
          Attributes: { AWS_INSTANCE_IPV4: ip, AWS_INSTANCE_PORT: '8080' },
        }),
      );
    },
    async deregister(instanceId) {
      await serviceDiscovery.send(
        new DeregisterInstanceCommand({ ServiceId: searchServiceId, InstanceId: instanceId }),
      );
    },
    async verdict(username, versionId) {
      // A version's key never changes: one read and one token per version.
      let token = tokens.get(versionId);
      if (!token) {
        const version = await readKeyVersion(sm, `meshgate/consumers/${username}`, { versionId });
        token = await signToken(version.key, { ttlSeconds: 3_000, claims: { sub: username } });
        tokens.set(versionId, token);
      }
      return world.kong.verifyJwt(token, { keyClaimName: 'kid' }).ok;
    },
    async stages(username) {
      const described = await sm.send(new DescribeSecretCommand({ SecretId: `meshgate/consumers/${username}` }));
      return described.VersionIdsToStages ?? {};
    },
  };
  const rotation = await model.rotationDeps();
  world.aws.registerFunction(ROTATION_FUNCTION, async (event) => rotateStep(rotation, event as RotationEvent));
  const functionArn = `arn:aws:lambda:${world.aws.region}:${world.aws.account}:function:${ROTATION_FUNCTION}`;
  for (const username of CONSUMERS) {
    await addConsumer(sm, {
      username,
      alg: 'ES256',
      rotationLambdaArn: functionArn,
      publish: { store: app.store, graceMs: app.config.KEY_GRACE_PERIOD },
    });
  }
  return model;
}
