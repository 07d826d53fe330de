/**
 * `npm start`: meshgate's main job on the local doubles, told step by step. The mesh is changed only through the
 * AWS SDK against the AWS double, so every change reaches meshgate as on AWS (CloudTrail → EventBridge rule →
 * meshSync); what Kong holds is read back through its Admin API. Each step checks its outcome and the demo fails
 * loudly (DemoFailure) if Kong or the keys are not as they should be.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { parse as parseYaml } from 'yaml';
import { auditLogGroup, readAudit, renderAudit } from '../../cli/audit.js';
import { main as meshgateCli } from '../../cli/main.js';
import { type AwsClients, createAwsClients } from '../../shared/aws/clients.js';
import type { SecretsManagerCalls } from '../../shared/aws/secrets-manager.js';
import { loadConfig } from '../../shared/config/index.js';
import { addConsumer } from '../../shared/consumers/index.js';
import {
  AWSCURRENT,
  AWSPENDING,
  describeSecret,
  findConsumerSecret,
  holderOf,
} from '../../shared/consumers/secrets.js';
import { errorMessage } from '../../shared/errors.js';
import { KongClient } from '../../shared/kong/client.js';
import type { KongState } from '../../shared/kong/entities.js';
import { MANAGED_BY_TAG } from '../../shared/kong/ownership.js';
import { startRotation } from '../../shared/rotation-schedule/schedule.js';
import { mintToken } from '../../shared/tokens/mint.js';
import { JWKS_ENTITY_NAME } from '../../shared/translate/index.js';
import { LOCAL_INSTANCE, type LocalStack, startLocalStack } from '../stack.js';
import { issueTestPki, type TestPki } from '../tls/certificates.js';
import { startTokenFunction } from '../token-function.js';
import { gatewayTrusted, newTraceContext, requestToken, startStubGateway, verifyWithEdgeJwks } from './custody.js';
import { DemoMesh, GATEWAY, MESH } from './mesh.js';
import {
  AuditLog,
  type AuditRecord,
  changesBetween,
  describeCounts,
  describeSyncRuns,
  kongCounts,
  ownedState,
  sameState,
} from './observe.js';

export class DemoFailure extends Error {
  override name = 'DemoFailure';
}

export interface DemoOptions {
  kongPort?: number;
  awsPort?: number;
  /** The handlers' own logs (Powertools JSON) and metrics. */
  verbose?: boolean;
  /** Kong with a database (default) or DB-less (configured whole through `POST /config`). */
  kongMode?: 'db' | 'dbless' | 'konnect';
  out?: (line: string) => void;
}

const CONSUMER = 'alice';
const UNOWNED_SERVICE = 'legacy-billing';
const INSTANCES = [
  { id: 'gw-1', ipv4: '10.0.1.11' },
  { id: 'gw-2', ipv4: '10.0.1.12' },
];
const ADDED_INSTANCE = { id: 'gw-3', ipv4: '10.0.1.13' };
const entityName = (route: string) => `${MESH}.${GATEWAY}.${route}`;
const UPSTREAM = `${GATEWAY}.${MESH}.gateway`;
// The chain of custody (last step): a second ingress gateway whose listener requires TLS, the mesh CA that signed
// its certificate (in Secrets Manager from the start: meshSync reads it on every run), and a workload with a role.
const TLS_GATEWAY = 'secure';
const TLS_ROUTE = 'ledger';
const TLS_UPSTREAM = `${TLS_GATEWAY}.${MESH}.gateway`;
const TLS_INSTANCE = { id: 'secure-1', ipv4: '10.0.9.1', port: 8443 };
const MESH_CA_SECRET = 'meshgate/mesh-ca';
const WORKLOAD_CONSUMER = 'ledger-client';
const WORKLOAD_ROLE = 'ledger-workload';
// Kong's OpenTelemetry plugin sends spans to a collector (ADOT); the double does not export them.
const OTLP_ENDPOINT = 'http://127.0.0.1:4318/v1/traces';

interface StepResult {
  before: KongState;
  after: KongState;
  audit: AuditRecord[];
}

/** Runs the whole scenario on a fresh local stack; resolves when every check passed. */
export async function runDemo(options: DemoOptions = {}): Promise<void> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  // Konnect's access tokens are personal (kpat_…) or system account (spat_…) tokens.
  const adminToken = `${options.kongMode === 'konnect' ? 'kpat_' : ''}${randomBytes(24).toString('hex')}`;
  const deadLetters: string[] = [];
  // The mesh's CA and the TLS gateway's certificate (its name is the Kong upstream's: Kong sends it as SNI).
  const pki = issueTestPki([TLS_UPSTREAM]);
  const stack = await startLocalStack({
    kongPort: options.kongPort,
    awsPort: options.awsPort,
    proxyPort: 0,
    adminToken,
    kongMode: options.kongMode,
    env: { MESH_CA_SECRET_ARN: MESH_CA_SECRET, TRACING: 'opentelemetry', OTEL_TRACES_ENDPOINT: OTLP_ENDPOINT },
    // The demo reports every outcome itself; --verbose adds the handlers' own JSON logs.
    logLevel: options.verbose ? 'INFO' : 'SILENT',
    metrics: options.verbose,
    onDeadLetter: (letter) => deadLetters.push(`${letter.function}: ${letter.error}`),
  });
  const clients = createAwsClients(stack.env);
  const kong = new KongClient({
    url: stack.kong.adminUrl,
    token: adminToken,
    ...(options.kongMode === 'konnect' ? { dialect: 'konnect' as const } : {}),
  });
  const audit = new AuditLog(stack.aws);
  try {
    await clients.secretsManager.createSecret({ Name: MESH_CA_SECRET, SecretString: pki.caCert });
    const demo = new Demo(stack, clients, kong, audit, adminToken, out, options.kongMode ?? 'db', pki);
    await demo.run();
    if (deadLetters.length) throw new DemoFailure(`dead letters: ${deadLetters.join('; ')}`);
  } finally {
    audit.close();
    kong.close();
    for (const client of Object.values(clients)) client.destroy();
    await stack.close();
  }
}

class Demo {
  private stepNumber = 0;
  private readonly mesh: DemoMesh;
  private readonly sm: SecretsManagerCalls;
  private readonly timings: { title: string; ms: number }[] = [];
  private readonly tokens: { beforeRotation?: string; afterRotation?: string } = {};

  constructor(
    private readonly stack: LocalStack,
    clients: AwsClients,
    private readonly kong: KongClient,
    private readonly audit: AuditLog,
    private readonly adminToken: string,
    private readonly out: (line: string) => void,
    private readonly kongMode: 'db' | 'dbless' | 'konnect' = 'db',
    private readonly pki?: TestPki,
  ) {
    this.mesh = new DemoMesh(clients);
    this.sm = clients.secretsManager;
  }

  async run(): Promise<void> {
    const started = performance.now();
    this.out('meshgate on local doubles of Kong and AWS');
    const flavour = { db: '', dbless: '  (DB-less)', konnect: '  (Konnect control plane)' }[this.kongMode];
    this.out(`  Kong Admin API double  ${this.stack.kong.adminUrl}${flavour}`);
    this.out(
      `  AWS double             ${this.stack.aws.url}  (App Mesh, Cloud Map, Secrets Manager, EventBridge, Lambda)`,
    );
    this.out(`  Kong proxy double      ${this.stack.kong.proxy?.url ?? '(off)'}  (routes as Kong 3.9 does)`);
    this.out(
      `  The mesh CA is in Secrets Manager (${MESH_CA_SECRET}); traces: Kong's OpenTelemetry plugin (w3c, aws).`,
    );
    this.out('  Mesh changes are AWS SDK calls; meshgate hears of them as CloudTrail events routed by serverless.yml.');
    await this.meshCreated();
    await this.instanceRegistered();
    await this.instanceDeregistered();
    await this.routeDeleted();
    await this.keyRotated();
    await this.rotationFailure();
    await this.badChangeRolledBack();
    await this.keyRolledBack();
    await this.applyFailure();
    await this.verifyFinalState();
    await this.chainOfCustody();
    await this.auditTrail();
    const total = Math.round(performance.now() - started);
    this.out('\nSummary');
    for (const [index, { title, ms }] of this.timings.entries()) {
      this.out(`  ${String(index + 1).padStart(2)}. ${title.padEnd(62)} ${String(ms).padStart(5)} ms`);
    }
    this.out(`  All checks passed in ${total} ms; Kong's final state verified through the Admin API.`);
  }

  // ── the steps ────────────────────────────────────────────────────────────────────────────────────────────────

  private async meshCreated(): Promise<void> {
    const result = await this.step('A mesh is created; Kong follows', async () => {
      const calls = [
        ...(await this.mesh.createGatewayDiscovery(INSTANCES)),
        ...(await this.mesh.createMesh([{ name: 'orders', tags: { 'meshgate:auth': 'jwt' } }, { name: 'catalog' }])),
      ];
      for (const call of calls) this.say(`aws: ${call}`);
    });
    const services = names(result.after.services);
    this.check(
      services.join() === [entityName('catalog'), entityName('orders')].join(),
      `a Kong service and route per gateway route (${services.join(', ')})`,
    );
    this.check(
      result.after.targets.length === 2,
      `upstream ${UPSTREAM} with the 2 gateway instances as targets`,
      `targets: ${targetsOf(result.after)}`,
    );
    this.check(
      result.after.plugins.some(
        (plugin) => plugin.name === 'jwt' && plugin.service?.id === serviceId(result.after, 'orders'),
      ),
      `jwt plugin on ${entityName('orders')} (virtual service tagged meshgate:auth=jwt)`,
    );
  }

  private async instanceRegistered(): Promise<void> {
    const result = await this.step('A gateway instance registers in Cloud Map; a target appears', async () => {
      await this.mesh.register(ADDED_INSTANCE);
      this.say(`aws: RegisterInstance ${ADDED_INSTANCE.id} ${ADDED_INSTANCE.ipv4}:8080`);
    });
    this.check(
      targetsOf(result.after).includes(`${ADDED_INSTANCE.ipv4}:8080`) && result.after.targets.length === 3,
      `target ${ADDED_INSTANCE.ipv4}:8080 added (a scoped sync of upstream ${UPSTREAM})`,
      `targets: ${targetsOf(result.after)}`,
    );
  }

  private async instanceDeregistered(): Promise<void> {
    const gone = INSTANCES[1]!;
    const result = await this.step('A gateway instance deregisters; its target goes', async () => {
      await this.mesh.deregister(gone.id);
      this.say(`aws: DeregisterInstance ${gone.id}`);
    });
    this.check(
      !targetsOf(result.after).includes(`${gone.ipv4}:8080`) && result.after.targets.length === 2,
      `target ${gone.ipv4}:8080 removed`,
      `targets: ${targetsOf(result.after)}`,
    );
  }

  private async routeDeleted(): Promise<void> {
    await this.createUnownedService();
    this.stack.kong.guard([MANAGED_BY_TAG]);
    const result = await this.step('A gateway route is deleted; its Kong service and route go', async () => {
      this.say(`kong: POST /services ${UNOWNED_SERVICE} (created by hand, no meshgate tags)`);
      await this.mesh.deleteRoute('catalog');
      this.say('aws: DeleteGatewayRoute catalog');
    });
    this.check(
      !names(result.after.services).includes(entityName('catalog')) &&
        !names(result.after.routes).includes(entityName('catalog')),
      `service and route ${entityName('catalog')} deleted`,
    );
    this.check(
      (await this.kong.get('service', UNOWNED_SERVICE)) !== undefined && this.stack.kong.violations.length === 0,
      `unowned service ${UNOWNED_SERVICE} untouched (0 writes to entities without ${MANAGED_BY_TAG})`,
    );
  }

  private async keyRotated(): Promise<void> {
    await this.step('A consumer is added, synced, and its key rotated', async () => {
      const created = await addConsumer(this.sm, {
        username: CONSUMER,
        alg: 'ES256',
        rotationLambdaArn: this.rotationFunctionArn(),
      });
      this.say(`aws: CreateSecret meshgate/consumers/${CONSUMER} (key ${created.kid}), rotation every 30 days`);
      await this.publishKeys();
      await this.driftRepair();
      const credentials = await this.credentialsOf(CONSUMER);
      this.check(credentials.join() === created.kid, `consumer ${CONSUMER} in Kong with credential ${created.kid}`);
      this.tokens.beforeRotation = (await mintToken(this.sm, CONSUMER, { ttlSeconds: 900 })).token;
      const invocationsBefore = this.stack.bus.invocations.length;
      const rotated = await startRotation(this.sm, CONSUMER);
      const steps = this.stack.bus.invocations
        .slice(invocationsBefore)
        .filter((record) => record.function === 'rotateKeys')
        .map((record) => (record.event as { Step?: string }).Step);
      this.say(`aws: RotateSecret → Secrets Manager invoked rotateKeys: ${steps.join(' → ')}`);
      this.say(`new key version ${rotated.versionId} is AWSCURRENT`);
      this.tokens.afterRotation = (await mintToken(this.sm, CONSUMER, { ttlSeconds: 900 })).token;
      await this.driftRepair();
    });
    const credentials = await this.credentialsOf(CONSUMER);
    this.check(credentials.length === 2, `Kong holds both keys during the grace period (${credentials.join(', ')})`);
    this.checkToken(this.tokens.beforeRotation, true, 'a token signed before the rotation');
    this.checkToken(this.tokens.afterRotation, true, 'a token signed after the rotation');
  }

  private async rotationFailure(): Promise<void> {
    const currentBefore = await this.currentVersion();
    const credentialsBefore = await this.credentialsOf(CONSUMER);
    await this.step('Kong fails during setSecret; the rotation is rolled back', async () => {
      if (this.kongMode === 'dbless') {
        this.stack.kong.faults.inject({
          method: 'POST',
          path: '/config',
          status: 500,
          times: Number.POSITIVE_INFINITY,
        });
        this.say('kong: fault injected — every POST /config answers 500');
      } else {
        this.stack.kong.faults.inject({
          // setSecret creates the pending credential with POST.
          method: 'POST',
          path: /^\/consumers\/[^/]+\/jwt$/,
          status: 500,
          times: Number.POSITIVE_INFINITY,
        });
        this.say('kong: fault injected — every POST of a jwt credential answers 500');
      }
      try {
        await startRotation(this.sm, CONSUMER);
        throw new DemoFailure('the rotation succeeded although Kong refused the new credential');
      } catch (error) {
        if (error instanceof DemoFailure) throw error;
        this.say(`rotation failed: ${truncate(errorMessage(error), 150)}`);
      } finally {
        this.stack.kong.faults.clear();
      }
    });
    const stages = (await describeSecret(this.sm, await this.secretArn())).VersionIdsToStages ?? {};
    const pending = holderOf(stages, AWSPENDING);
    this.check(holderOf(stages, AWSCURRENT) === currentBefore, 'AWSCURRENT unchanged');
    this.check(!pending || pending === currentBefore, 'no AWSPENDING left to block the next rotation');
    this.check(
      (await this.credentialsOf(CONSUMER)).join() === credentialsBefore.join(),
      'Kong has no credential for the failed key',
    );
    this.checkToken(this.tokens.afterRotation, true, 'the current key’s token');
    this.checkToken(this.tokens.beforeRotation, true, 'the older token (still in its grace period)');
    this.checkAudit('Key Rotation Failed');
  }

  private async badChangeRolledBack(): Promise<void> {
    const good = await ownedState(this.kong, LOCAL_INSTANCE);
    const bad = await this.step('A bad mesh change: the gateway tagged meshgate:expose=false', async () => {
      await this.mesh.tagGateway({ 'meshgate:expose': 'false' });
      this.say(`aws: TagResource ${GATEWAY} meshgate:expose=false (by mistake: every route goes)`);
    });
    this.check(
      names(bad.after.routes).length === 0,
      'meshgate deleted every route of the gateway, as the mesh now says',
    );

    const restored = await this.step('One command rolls Kong back and freezes automatic sync', async () => {
      await this.cli(['rollback', 'sync', '--to', 'previous']);
    });
    this.check(sameState(good, restored.after), 'Kong is exactly as before the bad change');
    this.checkAudit('Sync Frozen');

    const frozen = await this.step('While frozen, mesh events plan but apply nothing', async () => {
      await this.mesh.untagGateway(['meshgate:expose']);
      this.say(`aws: UntagResource ${GATEWAY} meshgate:expose (the fix)`);
      await this.mesh.createService('search');
      await this.mesh.createRoute('search');
      this.say('aws: CreateVirtualService search.shop.local, CreateGatewayRoute search');
    });
    const outcomes = new Set(frozen.audit.filter(isSyncRun).map((record) => record.detail.outcome));
    this.check(
      sameState(restored.after, frozen.after) && !outcomes.has('applied'),
      `Kong unchanged; runs: ${[...outcomes].join(', ')} (audit 'Sync Planned')`,
    );

    const resumed = await this.step('Resume (rollback function): the freeze lifts, sync re-applies', async () => {
      this.say('invoke rollback --path events/rollback-resume.json');
      const result = await this.stack.bus.invoke('rollback', readEvent('rollback-resume.json'));
      this.say(`rollback answered ${JSON.stringify(result)}`);
    });
    this.check(
      names(resumed.after.routes).includes(entityName('search')) &&
        names(resumed.after.routes).includes(entityName('orders')),
      `Kong converged with the fixed mesh: routes ${names(resumed.after.routes).join(', ')}`,
    );
  }

  private async keyRolledBack(): Promise<void> {
    await this.step(`Key rollback: ${CONSUMER}'s newest key is revoked`, async () => {
      await this.cli(['rollback', 'key', '--consumer', CONSUMER]);
    });
    this.checkToken(this.tokens.afterRotation, false, 'a token of the rolled-back key');
    this.checkToken(this.tokens.beforeRotation, true, 'a token of the previous key');
    await this.driftRepair();
    this.checkToken(this.tokens.afterRotation, false, 'after a drift-repair sync, the rolled-back key’s token');
    this.check((await this.credentialsOf(CONSUMER)).length === 1, 'Kong holds only the restored key');
  }

  private async applyFailure(): Promise<void> {
    let before: KongState | undefined;
    const failed = await this.step('Kong fails in the middle of a sync apply; rolled back', async () => {
      await this.mesh.createService('payments');
      this.say('aws: CreateVirtualService payments.shop.local');
      await this.stack.bus.idle();
      before = await ownedState(this.kong, LOCAL_INSTANCE);
      if (this.kongMode === 'dbless') {
        // The second configuration of the run (its second apply stage) fails on every retry; the restore gets through.
        this.stack.kong.faults.inject({ method: 'POST', path: '/config', nth: 2, times: 15, status: 503 });
        this.say('kong: fault injected — the 2nd POST /config answers 503 (retried, then given up)');
      } else {
        // Creates are POSTs to the collection (a PUT by id could overwrite an entity that is no longer meshgate's).
        this.stack.kong.faults.inject({
          method: 'POST',
          path: '/routes',
          status: 503,
          times: Number.POSITIVE_INFINITY,
        });
        this.say('kong: fault injected — every POST /routes answers 503 (retried, then given up)');
      }
      await this.mesh.createRoute('payments', { 'meshgate:auth': 'jwt' });
      this.say('aws: CreateGatewayRoute payments (meshgate:auth=jwt)');
    });
    this.stack.kong.faults.clear();
    const run = failed.audit.find((record) => record.detailType === 'Sync Failed');
    const counts = (run?.detail.counts ?? {}) as Record<string, number>;
    this.check(
      run?.detail.outcome === 'rolled-back' && (counts.failed ?? 0) > 0 && (counts.rolledBack ?? 0) > 0,
      `apply rolled back: ${counts.completed ?? 0} completed, ${counts.failed ?? 0} failed, ${counts.rolledBack ?? 0} rolled back`,
    );
    this.check(before !== undefined && sameState(before, failed.after), 'Kong equals the pre-apply snapshot');
    await this.driftRepair();
    this.check(
      names((await ownedState(this.kong, LOCAL_INSTANCE)).routes).includes(entityName('payments')),
      `fault cleared: the next drift repair created ${entityName('payments')}`,
    );
  }

  private async verifyFinalState(): Promise<void> {
    this.out('\nFinal state of Kong (Admin API)');
    const state = await ownedState(this.kong, LOCAL_INSTANCE);
    const counts = await kongCounts(this.kong);
    this.say(describeCounts(counts));
    const expectedRoutes = ['orders', 'payments', 'search'].map(entityName);
    this.check(names(state.services).join() === expectedRoutes.join(), `services ${expectedRoutes.join(', ')}`);
    this.check(names(state.routes).join() === expectedRoutes.join(), 'a route for each');
    this.check(targetsOf(state) === '10.0.1.11:8080, 10.0.1.13:8080', `upstream ${UPSTREAM} → ${targetsOf(state)}`);
    this.check(
      state.plugins.filter((plugin) => plugin.name === 'jwt').length === 2,
      'jwt plugins on orders and payments',
    );
    this.check(
      names(state.consumers).join() === CONSUMER && (await this.credentialsOf(CONSUMER)).length === 1,
      `consumer ${CONSUMER} with one live key`,
    );
    this.check(
      counts.service === state.services.length + 1 && this.stack.kong.violations.length === 0,
      `${UNOWNED_SERVICE} still there, never touched`,
    );
  }

  /**
   * The path a request travels: a workload's IAM role → its own token from the issueToken function URL → Kong's
   * proxy (jwt, trace context) → the mesh's ingress gateway over TLS verified against the mesh CA, carrying the
   * consumer's identity; the same token verifies against the JWKS Kong publishes; a key rotation breaks none of it.
   */
  private async chainOfCustody(): Promise<void> {
    const proxy = this.stack.kong.proxy;
    if (!proxy || !this.pki) throw new DemoFailure('the chain-of-custody step needs the Kong proxy and the mesh PKI');
    const { account, region } = this.stack.aws;
    const roleArn = `arn:aws:iam::${account}:role/${WORKLOAD_ROLE}`;
    const gateway = await startStubGateway(this.pki);
    // Kong reaches the gateway instance's VPC address; on this machine the stub listens on a loopback port.
    proxy.network.set(`${TLS_INSTANCE.ipv4}:${TLS_INSTANCE.port}`, { host: '127.0.0.1', port: gateway.port });
    const tokenFunction = await startTokenFunction(this.stack);
    const jwksUrl = `${proxy.url}/.well-known/jwks.json`;
    const serviceName = `${MESH}.${TLS_GATEWAY}.${TLS_ROUTE}`;
    try {
      await this.step('Chain of custody: a workload’s own token, through Kong, to the mesh over TLS', async () => {
        const calls = await this.mesh.createTlsGateway(TLS_GATEWAY, TLS_INSTANCE, TLS_ROUTE, {
          'meshgate:auth': 'jwt',
        });
        for (const call of calls) this.say(`aws: ${call}`);
        const created = await addConsumer(this.sm, {
          username: WORKLOAD_CONSUMER,
          alg: 'ES256',
          iamRole: roleArn,
          rotationLambdaArn: this.rotationFunctionArn(),
        });
        this.say(`aws: CreateSecret meshgate/consumers/${WORKLOAD_CONSUMER} (key ${created.kid}, iam role ${roleArn})`);
        await this.publishKeys();
        await this.driftRepair();
        this.say(
          `stub mesh gateway: https://127.0.0.1:${gateway.port} (certificate for ${TLS_UPSTREAM}, signed by the mesh CA)`,
        );
      });
      const state = await ownedState(this.kong, LOCAL_INSTANCE);
      const service = state.services.find((candidate) => candidate.name === serviceName);
      const cas = await this.kong.list('ca_certificate');
      this.check(
        service?.protocol === 'https' &&
          service.tls_verify === true &&
          cas.length === 1 &&
          service.ca_certificates?.join() === cas[0]?.id,
        `Kong service ${serviceName}: https, tls_verify on, the mesh CA as its CA certificate`,
      );

      this.check(
        (await gatewayTrusted(gateway.port, TLS_UPSTREAM, this.pki.caCert)) &&
          !(await gatewayTrusted(gateway.port, TLS_UPSTREAM)),
        `the gateway's certificate is trusted through the mesh CA only (not the system's roots)`,
      );

      const first = await this.workloadToken(tokenFunction.url, roleArn, region);
      const stranger = await requestToken(tokenFunction.url, `arn:aws:iam::${account}:role/not-a-consumer`, region);
      this.check(
        stranger.status === 403,
        'a role no consumer maps to gets 403 from the token function',
        stranger.body.message,
      );

      const unauthenticated = await fetch(`${proxy.url}/${TLS_ROUTE}/entries/7`);
      this.check(unauthenticated.status === 401, 'Kong refuses the call without a token (401)');
      await this.callThroughKong(proxy.url, first, gateway.seen, roleArn);
      await this.checkJwks(jwksUrl, first);

      let second = '';
      await this.step(`${WORKLOAD_CONSUMER}'s key rotates; old and new tokens both hold`, async () => {
        const rotated = await startRotation(this.sm, WORKLOAD_CONSUMER);
        this.say(`aws: RotateSecret → new key version ${rotated.versionId} is AWSCURRENT`);
        second = await this.workloadToken(tokenFunction.url, roleArn, region);
      });
      this.check(
        decodeKid(second) !== decodeKid(first),
        `the new token is signed with the new key (${decodeKid(second)}, was ${decodeKid(first)})`,
      );
      for (const [token, which] of [
        [second, 'the new token'],
        [first, 'the token from before the rotation (grace period)'],
      ] as const) {
        this.say(which);
        await this.callThroughKong(proxy.url, token, gateway.seen, roleArn);
        await this.checkJwks(jwksUrl, token);
      }
    } finally {
      proxy.network.delete(`${TLS_INSTANCE.ipv4}:${TLS_INSTANCE.port}`);
      await Promise.all([gateway.close(), tokenFunction.close()]);
    }
  }

  /** Every run above is an audit event; the audit bus's rule (serverless.yml) wrote each to the audit log group. */
  private async auditTrail(): Promise<void> {
    this.out('\nThe audit trail (meshgate audit: the audit log group, newest first)');
    const config = loadConfig(process.env);
    const logs = new CloudWatchLogsClient({});
    const { events } = await readAudit(logs, auditLogGroup(config), Date.now() - 3_600_000).finally(() =>
      logs.destroy(),
    );
    for (const line of renderAudit(events.slice(0, 6), '1h').split('\n')) this.say(line);
    this.say(`… ${events.length} audit events in all`);
    const types = new Set(events.map((event) => event['detail-type']));
    this.check(
      ['Sync Applied', 'Sync Failed', 'Key Rotated', 'Key Rotation Failed', 'Sync Frozen', 'Token Issued'].every(
        (type) => types.has(type),
      ),
      'every kind of run above reached the log group through the audit bus’s rule',
    );
    this.check(
      events.some(
        (event) =>
          event['detail-type'] === 'Token Issued' &&
          event.detail.outcome === 'issued' &&
          !JSON.stringify(event.detail).includes('eyJ'),
      ),
      'the workload’s token issuance is audited, without the token',
    );
  }

  /** The workload asks the function URL for its token (SigV4 with its role's credentials). */
  private async workloadToken(functionUrl: string, roleArn: string, region: string): Promise<string> {
    const issued = await requestToken(functionUrl, roleArn, region);
    this.say(`workload (role ${WORKLOAD_ROLE}) → POST ${functionUrl}, SigV4-signed: ${issued.status}`);
    this.check(
      issued.status === 200 && issued.body.consumer === WORKLOAD_CONSUMER && Boolean(issued.body.token),
      `the token function issued a token for consumer ${WORKLOAD_CONSUMER} (kid ${issued.body.kid ?? '-'}, until ${issued.body.expiresAt ?? '-'})`,
      issued.body.message,
    );
    return issued.body.token ?? '';
  }

  /** One request through Kong's proxy with the token and a W3C trace; checks what the mesh gateway received. */
  private async callThroughKong(
    proxyUrl: string,
    token: string,
    seen: { url: string; headers: Record<string, string | string[] | undefined>; tlsProtocol: string | null }[],
    roleArn: string,
  ): Promise<void> {
    const trace = newTraceContext();
    const before = seen.length;
    const response = await fetch(`${proxyUrl}/${TLS_ROUTE}/entries/7`, {
      headers: { authorization: `Bearer ${token}`, traceparent: trace.traceparent },
    });
    await response.text();
    const received = seen.length > before ? seen.at(-1) : undefined;
    this.say(
      `GET ${proxyUrl}/${TLS_ROUTE}/entries/7 (Bearer token, traceparent ${trace.traceparent}): ${response.status}`,
    );
    this.check(
      response.status === 200 && received !== undefined && received.tlsProtocol !== null,
      `the mesh gateway received GET ${received?.url ?? '?'} over ${received?.tlsProtocol ?? 'no TLS'}, its certificate verified by Kong against the mesh CA`,
    );
    const header = (name: string) => String(received?.headers[name] ?? '');
    this.check(
      header('x-consumer-username') === WORKLOAD_CONSUMER && header('x-consumer-custom-id') === roleArn,
      `with the caller's identity: X-Consumer-Username ${header('x-consumer-username')}, X-Consumer-Custom-ID ${header('x-consumer-custom-id')}`,
    );
    const xray = `Root=1-${trace.traceId.slice(0, 8)}-${trace.traceId.slice(8)};`;
    this.check(
      header('traceparent').startsWith(`00-${trace.traceId}-`) && header('x-amzn-trace-id').startsWith(xray),
      `in the workload's trace: traceparent ${header('traceparent')}, X-Amzn-Trace-Id ${header('x-amzn-trace-id').split(';')[0]}, x-request-id ${header('x-request-id') || '-'}`,
    );
  }

  /** A mesh service's check: the token verifies against the JWKS Kong serves at the edge. */
  private async checkJwks(jwksUrl: string, token: string): Promise<void> {
    const verdict = await verifyWithEdgeJwks(jwksUrl, token);
    this.check(
      verdict.ok,
      verdict.ok
        ? `the token verifies against the edge JWKS (${jwksUrl}: keys ${verdict.keys.join(', ')})`
        : 'the token verifies against the edge JWKS',
      verdict.ok ? undefined : verdict.reason,
    );
  }

  // ── helpers ──────────────────────────────────────────────────────────────────────────────────────────────────

  /** Runs `act`, waits until every event it caused was delivered and handled, and reports what changed in Kong. */
  private async step(title: string, act: () => Promise<void>): Promise<StepResult> {
    this.stepNumber += 1;
    this.out(`\n${this.stepNumber}. ${title}`);
    const started = performance.now();
    const before = await ownedState(this.kong, LOCAL_INSTANCE);
    const mark = this.audit.records.length;
    await act();
    await this.stack.bus.idle();
    const after = await ownedState(this.kong, LOCAL_INSTANCE);
    const audit = this.audit.since(mark);
    const ms = Math.round(performance.now() - started);
    this.say(`meshgate: ${describeSyncRuns(audit)}`);
    const changes = changesBetween(before, after);
    this.say(changes.total === 0 ? 'Kong: no change' : `Kong: ${changes.total} change(s)`);
    for (const line of changes.lines) this.say(`  ${line}`);
    this.say(`Kong now: ${describeCounts(await kongCounts(this.kong))}  (${ms} ms)`);
    this.timings.push({ title, ms });
    return { before, after, audit };
  }

  private say(line: string): void {
    this.out(`   ${line}`);
  }

  private check(condition: boolean, what: string, detail?: string): void {
    if (!condition) {
      throw new DemoFailure(`step ${this.stepNumber}: expected ${what}${detail ? ` (${detail})` : ''}`);
    }
    this.say(`✓ ${what}`);
  }

  private checkToken(token: string | undefined, accepted: boolean, what: string): void {
    if (!token) throw new DemoFailure(`step ${this.stepNumber}: no token was minted for ${what}`);
    const verdict = this.stack.kong.verifyJwt(token, { keyClaimName: 'kid' });
    const detail = verdict.ok ? 'accepted' : `${verdict.status} ${verdict.message}`;
    this.check(verdict.ok === accepted, `${what} is ${accepted ? 'accepted' : 'refused'} by Kong`, detail);
  }

  private checkAudit(detailType: string): void {
    this.check(
      this.audit.records.some((record) => record.detailType === detailType),
      `audit event '${detailType}' on the audit bus`,
    );
  }

  /**
   * The rotateKeys schedule publishes every consumer's public keys to the state store's document, the only place
   * meshSync reads them from (it may not read the secrets' values).
   */
  private async publishKeys(): Promise<void> {
    this.stack.bus.fireSchedule('rotateKeys');
    await this.stack.bus.idle();
    this.say('rotateKeys schedule fired: public keys published to the state store (jwks.json)');
  }

  /** The 5-minute drift-repair schedule, fired now. */
  private async driftRepair(): Promise<void> {
    const mark = this.audit.records.length;
    this.stack.bus.fireSchedule('meshSync', `meshgate-${this.stack.env.MESHGATE_STAGE}-drift-repair`);
    await this.stack.bus.idle();
    this.say(`drift-repair schedule fired: ${describeSyncRuns(this.audit.since(mark))}`);
  }

  /** The `meshgate` CLI in this process, with the stack's environment; a non-zero exit fails the demo. */
  private async cli(argv: string[]): Promise<void> {
    this.say(`$ meshgate ${argv.join(' ')}`);
    // The CLI writes to stdout; indent its lines under the step.
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) =>
      write(String(chunk).replace(/^(?=.)/gm, '     '))) as typeof process.stdout.write;
    let code: number;
    try {
      code = await meshgateCli(argv, process.env);
    } finally {
      process.stdout.write = write;
    }
    if (code !== 0) throw new DemoFailure(`step ${this.stepNumber}: meshgate ${argv.join(' ')} exited ${code}`);
  }

  private async createUnownedService(): Promise<void> {
    if (this.kongMode === 'dbless') {
      // A DB-less node takes no entity writes: whoever manages it posts a whole configuration, ours included.
      const headers = { 'content-type': 'application/json', 'Kong-Admin-Token': this.adminToken };
      const current = await fetch(`${this.stack.kong.url}/config`, { headers });
      const document = parseYaml(((await current.json()) as { config: string }).config) as Record<string, unknown>;
      const services = [
        ...((document.services as unknown[]) ?? []),
        { name: UNOWNED_SERVICE, url: 'http://billing.internal:8080' },
      ];
      const posted = await fetch(`${this.stack.kong.url}/config`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ ...document, services }),
      });
      if (posted.status !== 201)
        throw new DemoFailure(`adding ${UNOWNED_SERVICE} to Kong's configuration: HTTP ${posted.status}`);
      return;
    }
    const credential: Record<string, string> =
      this.kongMode === 'konnect'
        ? { Authorization: `Bearer ${this.adminToken}` }
        : { 'Kong-Admin-Token': this.adminToken };
    const response = await fetch(`${this.stack.kong.adminUrl}/services`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...credential },
      body: JSON.stringify({ name: UNOWNED_SERVICE, url: 'http://billing.internal:8080' }),
    });
    if (response.status !== 201) throw new DemoFailure(`creating ${UNOWNED_SERVICE} in Kong: HTTP ${response.status}`);
  }

  private async credentialsOf(username: string): Promise<string[]> {
    const consumer = await this.kong.get('consumer', username);
    if (!consumer) return [];
    const credentials = await this.kong.list('jwt');
    return credentials
      .filter((credential) => credential.consumer.id === consumer.id)
      .map((credential) => credential.key)
      .sort();
  }

  private async secretArn(): Promise<string> {
    const secret = await findConsumerSecret(this.sm, CONSUMER);
    return secret.ARN ?? secret.Name ?? '';
  }

  private async currentVersion(): Promise<string | undefined> {
    return holderOf((await describeSecret(this.sm, await this.secretArn())).VersionIdsToStages ?? {}, AWSCURRENT);
  }

  private rotationFunctionArn(): string {
    const { region, account } = this.stack.aws;
    return `arn:aws:lambda:${region}:${account}:function:meshgate-${this.stack.env.MESHGATE_STAGE}-rotateKeys`;
  }
}

function decodeKid(token: string): string {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: string };
    return header.kid ?? '';
  } catch {
    return '';
  }
}

function isSyncRun(record: AuditRecord): boolean {
  return record.detailType.startsWith('Sync ') && 'outcome' in record.detail;
}

/** Names of the entities the mesh produced (the edge JWKS service and route are meshgate's own, not the mesh's). */
function names(entities: { name?: string | null; username?: string | null }[]): string[] {
  return entities
    .map((entity) => entity.name ?? entity.username ?? '')
    .filter((name) => name !== JWKS_ENTITY_NAME)
    .sort();
}

function serviceId(state: KongState, route: string): string | undefined {
  return state.services.find((service) => service.name === entityName(route))?.id;
}

function targetsOf(state: KongState): string {
  return state.targets
    .map((target) => target.target)
    .sort()
    .join(', ');
}

function readEvent(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8'));
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
