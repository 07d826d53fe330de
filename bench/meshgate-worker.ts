/**
 * meshgate in its own process, driven by the bench over IPC, so that its CPU and memory are its own (the doubles
 * run in the bench process) and its RSS can be read from /proc. Each request is timed here, warm, without the
 * process start: the figure of a warm Lambda invocation.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { createMeshSyncHandler } from '../functions/mesh-sync/handler.js';
import { createMeshSyncApp } from '../shared/app/mesh-sync.js';
import { loadConfig } from '../shared/config/index.js';
import type { MeshSyncEvent } from '../shared/events/incoming.js';
import type { KongState } from '../shared/kong/entities.js';
import { desiredKong, runMeshSync } from '../shared/mesh-sync/pipeline.js';
import { reconcile, toDeckFile } from '../shared/reconcile/index.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

const config = loadConfig(process.env);
// meshSync's own composition root: the clients the deployed function builds, and no others.
const app = createMeshSyncApp(config, process.env);
const meshSync = createMeshSyncHandler(() => app);
let desired: KongState | undefined;

async function desiredState(): Promise<KongState> {
  desired ??= (await desiredKong(await app.meshSyncDeps(), config)).state;
  return desired;
}

async function serve(request: WorkerRequest): Promise<Omit<WorkerReply, 'wallMs'>> {
  switch (request.op) {
    case 'sync': {
      const result = await runMeshSync(
        await app.meshSyncDeps(),
        { kind: 'full', reason: 'bench', dryRun: false },
        config,
      );
      return { outcome: result.report.outcome, leftOut: result.failures.length };
    }
    case 'reconcile': {
      const state = await desiredState();
      const { store } = app;
      const report = await reconcile(await app.kong(), state, {
        instance: config.MESHGATE_INSTANCE,
        store,
        trigger: 'bench',
      });
      return { outcome: report.outcome };
    }
    case 'deck-file': {
      writeFileSync(request.path, stringify(toDeckFile(await desiredState())));
      return {};
    }
    case 'event': {
      // The handler parses the event itself (middy parser), as on Lambda.
      const result = (await meshSync(request.event as MeshSyncEvent, benchContext())) as
        | { outcome?: string }
        | undefined;
      return { outcome: result?.outcome };
    }
  }
}

function benchContext() {
  return {
    awsRequestId: `bench-${Date.now()}`,
    functionName: 'meshgate-bench-meshSync',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:meshgate-bench-meshSync',
    memoryLimitInMB: '512',
    logGroupName: '/aws/lambda/meshgate-bench-meshSync',
    logStreamName: 'bench',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 300_000,
    done() {},
    fail() {},
    succeed() {},
  };
}

process.on('message', (request: WorkerRequest) => {
  const started = performance.now();
  const cpu = process.cpuUsage();
  serve(request).then(
    (reply) => {
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      process.send?.({ ...reply, wallMs: performance.now() - started, cpuMs } satisfies WorkerReply);
    },
    (error: unknown) => process.send?.({ error: String(error instanceof Error ? error.stack : error), wallMs: 0 }),
  );
});
// The bench disconnects to stop this process; exiting normally lets --cpu-prof write its profile.
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true, wallMs: 0 } satisfies WorkerReply);
