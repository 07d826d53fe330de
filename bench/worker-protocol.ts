import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { declaredNodeOptions } from '../cli/serverless-yml.js';

/** What the bench asks of the meshgate process (bench/meshgate-worker.ts). */
export type WorkerRequest =
  /** A full meshSync run: read the mesh and the keys through the AWS double, translate, reconcile Kong. */
  | { op: 'sync' }
  /** The Kong reconcile alone, against a desired state read once and kept. */
  | { op: 'reconcile' }
  /** Writes the desired state as a decK 1.4 file (what `meshgate plan --deck` writes). */
  | { op: 'deck-file'; path: string }
  /** Delivers an EventBridge event to the meshSync handler. */
  | { op: 'event'; event: unknown };

export interface WorkerReply {
  wallMs: number;
  /** CPU time the meshgate process spent on the request (user + system). */
  cpuMs?: number;
  outcome?: string;
  leftOut?: number;
  ready?: boolean;
  error?: string;
}

const WORKER_SOURCE = fileURLToPath(new URL('./meshgate-worker.ts', import.meta.url));
/** A build cache under node_modules (ignored by git). */
const WORKER_BUNDLE = resolve('node_modules/.cache/meshgate-bench/meshgate-worker.cjs');
let bundled: Promise<unknown> | undefined;

/**
 * Bundles the worker as serverless.yml bundles the functions (esbuild, CommonJS, minified, the AWS SDK inside),
 * once per bench run: the meshgate process then runs plain node like a Lambda, without tsx's loader in its CPU time
 * and RSS, and with the SDK that is deployed.
 */
function bundleWorker(): Promise<unknown> {
  bundled ??= build({
    entryPoints: [WORKER_SOURCE],
    outfile: WORKER_BUNDLE,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    mainFields: ['module', 'main'],
    minify: process.env.BENCH_MINIFY !== '0',
    plugins: createRequire(import.meta.url)('../esbuild.plugins.cjs') as Plugin[],
    logLevel: 'error',
  });
  return bundled;
}

/** The meshgate process as the bench sees it: one request at a time. */
export class MeshgateProcess {
  private constructor(private readonly child: ChildProcess) {}

  /** `cpuProfileDir`: run under `node --cpu-prof`; the profile is written there when the process is closed. */
  static async start(env: Record<string, string>, cpuProfileDir?: string): Promise<MeshgateProcess> {
    await bundleWorker();
    const child = fork(WORKER_BUNDLE, {
      execArgv: cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir] : [],
      // Powertools writes a log line and a metrics line per run; they are not what is measured. Node runs with the
      // functions' own NODE_OPTIONS (serverless.yml): the heap settings deployed are the ones measured.
      env: {
        ...process.env,
        NODE_OPTIONS: declaredNodeOptions(),
        ...env,
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const worker = new MeshgateProcess(child);
    await worker.next();
    return worker;
  }

  async call(request: WorkerRequest): Promise<WorkerReply> {
    const reply = this.next();
    this.child.send(request);
    const answer = await reply;
    if (answer.error) throw new Error(`meshgate ${request.op} failed: ${answer.error}`);
    return answer;
  }

  /** Peak resident set size of the process so far (VmHWM), in MB. */
  peakRssMb(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
    if (kb === undefined) throw new Error(`no VmHWM in /proc/${this.child.pid}/status`);
    return Number(kb) / 1024;
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    await exited;
  }

  private next(): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`meshgate process exited (${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (message: WorkerReply) => {
        this.child.off('exit', onExit);
        resolve(message);
      });
    });
  }
}
