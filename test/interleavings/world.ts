import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateMeshCommand } from '@aws-sdk/client-app-mesh';
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
import type { LeaseOptions } from '../../shared/state/lease.js';
import type { StateStore } from '../../shared/state/store.js';
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

/** The lease of a writer that will stall: short, so that it expires within an interleaving. */
const STALLED_LEASE = { waitMs: 150, ttlMs: 120, pollMs: 3, requestBudgetMs: 60 };

/**
 * A writer that stalls past its lease's expiry (a paused process: a long GC, a frozen Lambda, a lost network) after
 * its n-th Kong request, while another writer takes the expired lease over by ETag and applies. Its heartbeat
 * stalls with it (renewals wait). After it resumes, any Kong write it makes before it takes a new lease is a write
 * by a stale holder: fencing must make that impossible.
 */
export class StalledWriter {
  readonly lease: Pick<LeaseOptions, 'waitMs' | 'ttlMs' | 'pollMs' | 'requestBudgetMs'> = STALLED_LEASE;
  /** Kong writes that succeeded after the lease was taken over, while this writer still ran under it. */
  readonly staleWrites: string[] = [];
  /** Whether the stall happened and another writer held the lease when it ended. */
  tookOver = false;
  /** The Kong requests this writer completed, in order (`get jwt`, `delete jwt <id>`). */
  readonly requests: string[] = [];
  private holder: string | undefined;
  private stale = false;
  private stalled: Promise<void> | undefined;
  private leases: StateStore | undefined;

  /**
   * @param afterRequests the Kong request after whose response the writer stalls
   * @param takeOver what another writer does meanwhile: take the expired lease and apply
   */
  constructor(
    private readonly afterRequests: number,
    private readonly takeOver: () => Promise<unknown>,
  ) {}

  /** The stalling writer's store: its renewals wait while it stalls; a new lease it takes ends its staleness. */
  store(store: StateStore): StateStore {
    this.leases = store;
    return new Proxy(store, {
      get: (target, property, receiver) => {
        if (property === 'renewLease') {
          return async (...args: Parameters<StateStore['renewLease']>) => {
            await this.stalled;
            return target.renewLease(...args);
          };
        }
        if (property === 'tryAcquireLease') {
          return async (request: Parameters<StateStore['tryAcquireLease']>[0]) => {
            const grant = await target.tryAcquireLease(request);
            if (grant.acquired) {
              this.holder = request.holder;
              this.stale = false;
            }
            return grant;
          };
        }
        if (property === 'releaseLease') {
          return async (...args: Parameters<StateStore['releaseLease']>) => {
            const release = await target.releaseLease(...args);
            if (!('pending' in release)) this.holder = undefined;
            return release;
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /** The stalling writer's Kong client (innermost, so every fence and signal check of the writer sits above it). */
  kong(kong: KongApi): KongApi {
    const request = async <T>(what: string, call: () => Promise<T>, write = false): Promise<T> => {
      const wasStale = this.stale;
      const result = await call();
      if (write && wasStale) this.staleWrites.push(what);
      this.requests.push(what);
      if (this.requests.length === this.afterRequests) await this.stall();
      return result;
    };
    return {
      get batchesWrites() {
        return kong.batchesWrites;
      },
      version: (signal) => request('version', () => kong.version(signal)),
      list: (kind, options) => request(`list ${kind}`, () => kong.list(kind, options)),
      get: (kind, key, options) => request(`get ${kind}`, () => kong.get(kind, key, options)),
      create: (kind, entity, signal) =>
        request(`create ${kind} ${entity.id}`, () => kong.create(kind, entity, signal), true),
      update: (kind, entity, signal) =>
        request(`update ${kind} ${entity.id}`, () => kong.update(kind, entity, signal), true),
      upsert: (kind, entity, signal) =>
        request(`upsert ${kind} ${entity.id}`, () => kong.upsert(kind, entity, signal), true),
      delete: (kind, entity, signal) =>
        request(`delete ${kind} ${entity.id}`, () => kong.delete(kind, entity, signal), true),
    };
  }

  private stall(): Promise<void> {
    this.stalled = (async () => {
      // Past the lease's expiry nothing of this writer runs; then another writer takes the lease over and applies.
      await sleep(STALLED_LEASE.ttlMs + 20);
      await this.takeOver().catch(() => undefined);
      const now = await this.leases?.readLease();
      this.tookOver = this.holder !== undefined && now?.holder !== this.holder;
      this.stale = this.tookOver;
    })();
    return this.stalled.then(async () => {
      this.stalled = undefined;
    });
  }
}

export interface ModelWorld {
  searchServiceId: string;
  syncDeps(kind: WriterKind, stall?: StalledWriter): Promise<MeshSyncDeps>;
  opsDeps(stall?: StalledWriter): Promise<OperationsDeps>;
  rotationDeps(stall?: StalledWriter): Promise<RotationDeps>;
  runSync(
    trigger: SyncTrigger,
    kind?: WriterKind,
    options?: { stall?: StalledWriter; lease?: typeof SYNC_LEASE },
  ): Promise<unknown>;
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
    async syncDeps(kind, stall) {
      return {
        ...baseSync,
        store: stall ? stall.store(baseSync.store) : baseSync.store,
        kong: observedKong(stall ? stall.kong(kong) : kong, kind, seen, owned),
      };
    },
    async opsDeps(stall) {
      const base = await rollbackApp.operationsDeps((reason) =>
        model.runSync({ kind: 'full', reason, dryRun: false }).then(() => undefined),
      );
      // The world's store object (the test observes its freeze writes); the same folder as the rollback app's.
      return {
        ...base,
        store: stall ? stall.store(app.store) : app.store,
        kong: observedKong(stall ? stall.kong(kong) : kong, 'rollback', seen, owned),
        lease: stall?.lease ?? LEASE,
      };
    },
    async rotationDeps(stall) {
      const base = await rotationApp.rotationDeps();
      return {
        ...base,
        store: stall ? stall.store(app.store) : app.store,
        kong: observedKong(stall ? stall.kong(kong) : kong, 'rotation', seen, owned),
        lease: stall?.lease ?? LEASE,
        requestSync: (reason) => model.runSync({ kind: 'full', reason, dryRun: false }).then(() => undefined),
      };
    },
    async runSync(trigger, kind = 'sync', options = {}) {
      return runMeshSync(await model.syncDeps(kind, options.stall), trigger, app.config, {
        lease: options.stall?.lease ?? options.lease ?? SYNC_LEASE,
      });
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
      const described = await sm.describeSecret({ SecretId: `meshgate/consumers/${username}` });
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
