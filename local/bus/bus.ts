/**
 * The local EventBridge + Lambda: routes events through the rules read from serverless.yml and runs the handlers in
 * process the way AWS does: asynchronously, at most `reservedConcurrency` at once per function, a failed async
 * invocation retried `maximumRetryAttempts` times with a growing delay and then recorded as a dead letter.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EventBridgeEvent } from '../aws/server.js';
import { ConcurrencyLimit } from './concurrency.js';
import { type LambdaContext, lambdaContext } from './context.js';
import { runAsFunction } from './identity.js';
import type { FunctionSpec, RuleSpec } from './rules.js';

export type Handler = (event: unknown, context: LambdaContext) => unknown;

export interface InvocationRecord {
  function: string;
  requestId: string;
  /** The rule that delivered the event; absent for a direct invoke. */
  rule?: string;
  event: unknown;
  /** 1 for the first attempt; async retries keep the request id and count up. */
  attempt: number;
  outcome: 'ok' | 'error';
  error?: string;
  result?: unknown;
}

export interface DeadLetter {
  function: string;
  /** The function's `destinations.onFailure`, e.g. `sqs:DeadLetterQueue`; absent = AWS would drop the event. */
  destination?: string;
  requestId: string;
  rule: string;
  event: unknown;
  error: string;
  attempts: number;
}

export interface LocalBusOptions {
  functions: FunctionSpec[];
  /** Loads a function's handler; default: import the TypeScript module serverless.yml names. */
  loadHandler?: (spec: FunctionSpec) => Promise<Handler>;
  /** Delay before async retry n is n × this (AWS: 1 min, then 2 min). Default 60 000. */
  retryDelayMs?: number;
  account?: string;
  region?: string;
  onInvoke?: (record: InvocationRecord) => void;
  onDeadLetter?: (deadLetter: DeadLetter) => void;
}

export interface LocalBus {
  readonly functions: readonly FunctionSpec[];
  /** Routes the event to every matching rule's function, asynchronously (returns at once). */
  publish(event: EventBridgeEvent): void;
  /** Delivers a scheduled event now: the named schedule rule, or every schedule of the function. */
  fireSchedule(functionName: string, ruleName?: string): void;
  /** Fires every schedule on a simulated clock running `speed` times real time from `start`; returns stop. */
  startClock(options: { speed: number; start?: Date }): () => void;
  /** Synchronous (RequestResponse) invoke by short or deployed name: no retries, same concurrency limit. */
  invoke(functionName: string, payload: unknown): Promise<unknown>;
  /** Resolves once no invocation is queued, running or waiting to retry. */
  idle(): Promise<void>;
  readonly invocations: readonly InvocationRecord[];
  readonly deadLetters: readonly DeadLetter[];
}

type ScheduleRule = Extract<RuleSpec, { kind: 'schedule' }>;

const DEFAULT_RETRY_DELAY_MS = 60_000;

export function createLocalBus(options: LocalBusOptions): LocalBus {
  const where = { account: options.account ?? '123456789012', region: options.region ?? 'us-east-1' };
  const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const loadHandler = options.loadHandler ?? importHandler;
  const invocations: InvocationRecord[] = [];
  const deadLetters: DeadLetter[] = [];
  const limits = new Map(
    options.functions.map((spec) => [
      spec.name,
      new ConcurrencyLimit(spec.reservedConcurrency ?? Number.POSITIVE_INFINITY),
    ]),
  );
  const idleWaiters: Array<() => void> = [];
  let pending = 0;

  function specNamed(name: string): FunctionSpec {
    const spec = options.functions.find((candidate) => candidate.name === name || candidate.deployedName === name);
    if (!spec) {
      const known = options.functions.map((candidate) => candidate.name).join(', ');
      throw new Error(`no function '${name}' in serverless.yml (known: ${known})`);
    }
    return spec;
  }

  /** Counts work in flight so `idle()` can wait for it, including work started by the handlers themselves. */
  async function tracked<T>(work: () => Promise<T>): Promise<T> {
    pending += 1;
    try {
      return await work();
    } finally {
      pending -= 1;
      if (pending === 0) for (const wake of idleWaiters.splice(0)) wake();
    }
  }

  /** One attempt, holding a concurrency slot; records it and rethrows the handler's error. */
  async function runOnce(spec: FunctionSpec, event: unknown, requestId: string, attempt: number, rule?: string) {
    const record: InvocationRecord = {
      function: spec.name,
      requestId,
      ...(rule ? { rule } : {}),
      event,
      attempt,
      outcome: 'ok',
    };
    let running: Promise<unknown> | undefined;
    let release = () => {};
    try {
      if (spec.reservedConcurrency === 0)
        throw new Error(`Rate Exceeded: ${spec.deployedName} has reserved concurrency 0`);
      release = await limits.get(spec.name)!.acquire();
      const deadline = Date.now() + spec.timeoutSeconds * 1000;
      const handler = await loadHandler(spec);
      const context = lambdaContext(spec, requestId, where, deadline);
      running = Promise.resolve(
        runAsFunction({ name: spec.name, deployedName: spec.deployedName }, () =>
          handler(structuredClone(event), context),
        ),
      );
      // On AWS the sandbox is frozen at the timeout; here the run goes on, so its slot is held until it settles.
      running.finally(release).catch(() => {});
      record.result = await withTimeout(running, spec.timeoutSeconds);
      return record.result;
    } catch (error) {
      if (!running) release();
      record.outcome = 'error';
      record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw error;
    } finally {
      invocations.push(record);
      options.onInvoke?.(record);
    }
  }

  /** Lambda's async invoke: the first attempt plus `maximumRetryAttempts` retries, then the on-failure record. */
  function deliver(spec: FunctionSpec, rule: RuleSpec, event: unknown): void {
    const requestId = randomUUID();
    const attempts = spec.maximumRetryAttempts + 1;
    void tracked(async () => {
      let lastError = '';
      for (let attempt = 1; attempt <= attempts; attempt += 1) {
        try {
          await runOnce(spec, event, requestId, attempt, rule.name);
          return;
        } catch (error) {
          lastError = error instanceof Error ? error.message : String(error);
          if (attempt < attempts) await sleep(retryDelayMs * attempt);
        }
      }
      const deadLetter: DeadLetter = {
        function: spec.name,
        ...(spec.onFailure ? { destination: spec.onFailure } : {}),
        requestId,
        rule: rule.name,
        event,
        error: lastError,
        attempts,
      };
      deadLetters.push(deadLetter);
      options.onDeadLetter?.(deadLetter);
    });
  }

  function scheduledEvent(rule: RuleSpec, time: Date): EventBridgeEvent {
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: where.account,
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: where.region,
      resources: [`arn:aws:events:${where.region}:${where.account}:rule/${rule.name}`],
      detail: {},
    };
  }

  const scheduleRules = options.functions.flatMap((spec) =>
    spec.rules.flatMap((rule) => (rule.kind === 'schedule' ? [{ spec, rule }] : [])),
  );

  return {
    functions: options.functions,
    invocations,
    deadLetters,

    publish(event) {
      for (const spec of options.functions) {
        for (const rule of spec.rules) {
          if (rule.kind === 'pattern' && rule.matches(event)) deliver(spec, rule, event);
        }
      }
    },

    fireSchedule(functionName, ruleName) {
      const spec = specNamed(functionName);
      const rules = spec.rules.filter(
        (rule) => rule.kind === 'schedule' && (ruleName === undefined || rule.name === ruleName),
      );
      if (rules.length === 0) {
        throw new Error(`function '${spec.name}' has no schedule${ruleName ? ` named '${ruleName}'` : ''}`);
      }
      for (const rule of rules) deliver(spec, rule, scheduledEvent(rule, new Date()));
    },

    startClock({ speed, start }) {
      if (!(speed > 0)) throw new Error(`clock speed must be positive, got ${speed}`);
      const realStart = Date.now();
      const simulatedStart = start?.getTime() ?? realStart;
      const simulatedNow = () => simulatedStart + (Date.now() - realStart) * speed;
      const timers = new Set<NodeJS.Timeout>();
      const arm = (spec: FunctionSpec, rule: ScheduleRule, after: Date) => {
        const next = rule.schedule.next(after);
        if (!next) return;
        const timer = setTimeout(
          () => {
            timers.delete(timer);
            deliver(spec, rule, scheduledEvent(rule, next));
            arm(spec, rule, next);
          },
          Math.max(0, (next.getTime() - simulatedNow()) / speed),
        );
        timers.add(timer);
      };
      for (const { spec, rule } of scheduleRules) arm(spec, rule, new Date(simulatedStart));
      return () => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
      };
    },

    async invoke(functionName, payload) {
      const spec = specNamed(functionName);
      return tracked(() => runOnce(spec, payload, randomUUID(), 1));
    },

    idle() {
      return pending === 0 ? Promise.resolve() : new Promise((wake) => idleWaiters.push(wake));
    },
  };
}

/** Imports the handler module serverless.yml names (the process runs under tsx or vitest, so `.ts` loads). */
async function importHandler(spec: FunctionSpec): Promise<Handler> {
  const module = (await import(pathToFileURL(resolve(spec.serviceDir, spec.handlerPath)).href)) as Record<
    string,
    unknown
  >;
  const handler = module[spec.exportName];
  if (typeof handler !== 'function') {
    throw new Error(`${spec.handlerPath} has no exported function '${spec.exportName}' (handler of ${spec.name})`);
  }
  return handler as Handler;
}

async function withTimeout<T>(running: Promise<T>, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Task timed out after ${seconds.toFixed(2)} seconds`)), seconds * 1000);
  });
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((wake) => setTimeout(wake, ms));
}
