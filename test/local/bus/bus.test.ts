import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventBridgeEvent } from '../../../local/aws/server.js';
import { createLocalBus, type Handler, type LocalBusOptions } from '../../../local/bus/bus.js';
import type { LambdaContext } from '../../../local/bus/context.js';
import { type FunctionSpec, loadServerlessFunctions } from '../../../local/bus/rules.js';
import { readReference } from '../../support/reference.js';

const functions = loadServerlessFunctions('serverless.yml');
const createVirtualNode: EventBridgeEvent = JSON.parse(
  readReference('aws/events/appmesh-createvirtualnode-cloudtrail.DERIVED.json'),
);

/** A bus over the real serverless.yml functions with fake handlers by short name. */
function busWith(handlers: Record<string, Handler>, options: Partial<LocalBusOptions> = {}) {
  return createLocalBus({
    functions,
    retryDelayMs: 1,
    loadHandler: async (spec) => {
      const handler = handlers[spec.name];
      if (!handler) throw new Error(`no fake handler for ${spec.name}`);
      return handler;
    },
    ...options,
  });
}

/** A handler that blocks until released, counting how many of its runs overlap. */
function gatedHandler() {
  const gates: Array<() => void> = [];
  const state = { running: 0, maxRunning: 0, started: 0 };
  const handler: Handler = async () => {
    state.running += 1;
    state.started += 1;
    state.maxRunning = Math.max(state.maxRunning, state.running);
    await new Promise<void>((open) => gates.push(open));
    state.running -= 1;
    return 'done';
  };
  const releaseNext = async () => {
    await vi.waitFor(() => expect(gates.length).toBeGreaterThan(0));
    gates.shift()?.();
  };
  return { handler, state, releaseNext };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('routing', () => {
  it('delivers a matching event asynchronously, with a Lambda context, and ignores others', async () => {
    const contexts: LambdaContext[] = [];
    const events: unknown[] = [];
    const bus = busWith({
      meshSync: async (event, context) => {
        events.push(event);
        contexts.push(context);
        return { synced: true };
      },
    });
    bus.publish(createVirtualNode);
    bus.publish({ ...createVirtualNode, source: 'aws.s3' });
    expect(events).toEqual([]); // publish returns before the handler runs
    await bus.idle();

    expect(events).toEqual([createVirtualNode]);
    const [context] = contexts;
    const [record] = bus.invocations;
    expect(record).toMatchObject({ function: 'meshSync', rule: 'meshgate-local-meshSync-rule-1', attempt: 1 });
    expect(record).toMatchObject({ outcome: 'ok', result: { synced: true } });
    expect(context).toMatchObject({
      awsRequestId: record?.requestId,
      functionName: 'meshgate-local-meshSync',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:meshgate-local-meshSync',
      memoryLimitInMB: '512',
      logGroupName: '/aws/lambda/meshgate-local-meshSync',
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(context?.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(context?.getRemainingTimeInMillis()).toBeLessThanOrEqual(300_000);
  });

  it('hands each invocation its own copy of the event', async () => {
    const bus = busWith({
      meshSync: async (event) => {
        (event as { detail: { eventName: string } }).detail.eventName = 'Mutated';
      },
    });
    bus.publish(createVirtualNode);
    await bus.idle();
    expect(createVirtualNode.detail.eventName).toBe('CreateVirtualNode');
  });
});

describe('async invoke failures', () => {
  it('retries a failing handler maximumRetryAttempts times, then records a dead letter', async () => {
    const onDeadLetter = vi.fn();
    const onInvoke = vi.fn();
    const bus = busWith(
      {
        meshSync: async () => {
          throw new Error('Kong unreachable');
        },
      },
      { onDeadLetter, onInvoke },
    );
    bus.publish(createVirtualNode);
    await bus.idle();

    expect(bus.invocations.map((record) => [record.attempt, record.outcome, record.error])).toEqual([
      [1, 'error', 'Error: Kong unreachable'],
      [2, 'error', 'Error: Kong unreachable'],
      [3, 'error', 'Error: Kong unreachable'],
    ]);
    expect(new Set(bus.invocations.map((record) => record.requestId)).size).toBe(1);
    expect(onInvoke).toHaveBeenCalledTimes(3);
    expect(bus.deadLetters).toEqual([
      {
        function: 'meshSync',
        destination: 'sqs:DeadLetterQueue',
        requestId: bus.invocations[0]?.requestId,
        rule: 'meshgate-local-meshSync-rule-1',
        event: createVirtualNode,
        error: 'Kong unreachable',
        attempts: 3,
      },
    ]);
    expect(onDeadLetter).toHaveBeenCalledWith(bus.deadLetters[0]);
  });

  it('stops retrying once an attempt succeeds', async () => {
    let calls = 0;
    const bus = busWith({
      meshSync: async () => {
        calls += 1;
        if (calls === 1) throw new Error('transient');
        return 'ok';
      },
    });
    bus.publish(createVirtualNode);
    await bus.idle();
    expect(bus.invocations.map((record) => record.outcome)).toEqual(['error', 'ok']);
    expect(bus.deadLetters).toEqual([]);
  });

  it('honours maximumRetryAttempts 0 and reports a handler that cannot be loaded', async () => {
    const noRetries: FunctionSpec[] = functions.map((spec) => ({ ...spec, maximumRetryAttempts: 0 }));
    const bus = busWith({}, { functions: noRetries });
    bus.publish(createVirtualNode);
    await bus.idle();
    expect(bus.invocations).toHaveLength(1);
    expect(bus.deadLetters[0]).toMatchObject({ attempts: 1, error: 'no fake handler for meshSync' });
  });

  it('waits retryDelayMs before the first retry and twice that before the second', async () => {
    vi.useFakeTimers();
    const bus = busWith(
      {
        meshSync: async () => {
          throw new Error('down');
        },
      },
      { retryDelayMs: 1000 },
    );
    bus.publish(createVirtualNode);
    await vi.advanceTimersByTimeAsync(999);
    expect(bus.invocations).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(bus.invocations).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1999);
    expect(bus.invocations).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(bus.invocations).toHaveLength(3);
    expect(bus.deadLetters).toHaveLength(1);
  });

  it('fails an attempt that outlives the function timeout but keeps its slot until it really ends', async () => {
    vi.useFakeTimers();
    const gated = gatedHandler();
    const shortTimeout = functions.map((spec) => ({
      ...spec,
      timeoutSeconds: 1,
      ...(spec.name === 'meshSync' ? { reservedConcurrency: 1 } : {}),
    }));
    const bus = busWith({ meshSync: gated.handler }, { functions: shortTimeout, retryDelayMs: 0 });
    bus.publish(createVirtualNode);
    await vi.advanceTimersByTimeAsync(1000);
    expect(bus.invocations[0]).toMatchObject({ outcome: 'error', error: 'Error: Task timed out after 1.00 seconds' });
    await vi.advanceTimersByTimeAsync(10);
    expect(gated.state.started).toBe(1); // the retry waits: meshSync is given reserved concurrency 1
    await gated.releaseNext();
    await vi.advanceTimersByTimeAsync(10);
    expect(gated.state.started).toBe(2);
    await gated.releaseNext();
    await vi.advanceTimersByTimeAsync(10);
    expect(gated.state.maxRunning).toBe(1);
    expect(bus.invocations.map((record) => record.outcome)).toEqual(['error', 'ok']);
  });
});

describe('reserved concurrency', () => {
  it('never runs two invocations of a concurrency-1 function at once, direct invokes included', async () => {
    const gated = gatedHandler();
    const reserved = functions.map((spec) => (spec.name === 'meshSync' ? { ...spec, reservedConcurrency: 1 } : spec));
    const bus = busWith({ meshSync: gated.handler }, { functions: reserved });
    bus.publish(createVirtualNode);
    bus.publish(createVirtualNode);
    const direct = bus.invoke('meshgate-local-meshSync', { manual: true });
    for (let run = 0; run < 3; run += 1) await gated.releaseNext();
    await expect(direct).resolves.toBe('done');
    await bus.idle();
    expect(gated.state.maxRunning).toBe(1);
    expect(bus.invocations.map((record) => record.outcome)).toEqual(['ok', 'ok', 'ok']);
  });

  it('runs invocations of a function without reserved concurrency side by side', async () => {
    const gated = gatedHandler();
    const bus = busWith({ rotateKeys: gated.handler });
    bus.fireSchedule('rotateKeys');
    bus.fireSchedule('rotateKeys');
    await vi.waitFor(() => expect(gated.state.running).toBe(2));
    await gated.releaseNext();
    await gated.releaseNext();
    await bus.idle();
    expect(gated.state.maxRunning).toBe(2);
  });

  it('throttles every invocation of a function with reserved concurrency 0', async () => {
    const throttled = functions.map((spec) => ({ ...spec, reservedConcurrency: 0 }));
    const handler = vi.fn();
    const bus = busWith({ meshSync: handler }, { functions: throttled });
    bus.publish(createVirtualNode);
    await bus.idle();
    expect(handler).not.toHaveBeenCalled();
    expect(bus.deadLetters[0]?.error).toMatch(/Rate Exceeded/);
    await expect(bus.invoke('meshSync', {})).rejects.toThrow(/reserved concurrency 0/);
  });
});

describe('direct invoke', () => {
  it('returns the result or rejects with the handler error, without retries', async () => {
    const bus = busWith({
      rollback: async (event) => ({ echoed: event }),
      rotateKeys: async () => {
        throw new Error('bad step');
      },
    });
    await expect(bus.invoke('rollback', { to: 'previous' })).resolves.toEqual({ echoed: { to: 'previous' } });
    await expect(bus.invoke('rotateKeys', { Step: 'createSecret' })).rejects.toThrow('bad step');
    expect(bus.invocations.map((record) => [record.function, record.outcome])).toEqual([
      ['rollback', 'ok'],
      ['rotateKeys', 'error'],
    ]);
    expect(bus.deadLetters).toEqual([]);
    await expect(bus.invoke('nope', {})).rejects.toThrow(
      /no function 'nope'.*meshSync, rotateKeys, issueToken, rollback/,
    );
  });

  it('loads the TypeScript handler module that serverless.yml names by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshgate-handler-'));
    writeFileSync(
      join(dir, 'handler.ts'),
      'export const handler = async (event: { n: number }, context: { functionName: string }) => ({ doubled: event.n * 2, by: context.functionName });\n',
    );
    const [meshSync] = functions;
    const spec = { ...meshSync!, serviceDir: dir, handlerPath: 'handler.ts' };
    const bus = createLocalBus({ functions: [spec, { ...spec, name: 'broken', exportName: 'missing' }] });
    await expect(bus.invoke('meshSync', { n: 21 })).resolves.toEqual({ doubled: 42, by: 'meshgate-local-meshSync' });
    await expect(bus.invoke('broken', {})).rejects.toThrow("handler.ts has no exported function 'missing'");
  });
});

describe('schedules', () => {
  it('fires a schedule on demand with the classic scheduled-event envelope', async () => {
    const events: unknown[] = [];
    const bus = busWith({ meshSync: async (event) => events.push(event) });
    bus.fireSchedule('meshSync');
    await bus.idle();
    expect(events).toEqual([
      {
        version: '0',
        id: expect.any(String),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '123456789012',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        region: 'us-east-1',
        resources: ['arn:aws:events:us-east-1:123456789012:rule/meshgate-local-drift-repair'],
        detail: {},
      },
    ]);
    expect(bus.invocations[0]?.rule).toBe('meshgate-local-drift-repair');
    expect(() => bus.fireSchedule('rollback')).toThrow(/'rollback' has no schedule/);
    expect(() => bus.fireSchedule('meshSync', 'other')).toThrow(/no schedule named 'other'/);
  });

  it('fires every schedule on an accelerated clock until stopped', async () => {
    vi.useFakeTimers({ now: new Date('2024-01-01T00:00:00Z') });
    const fired: Array<[string, string]> = [];
    const record: Handler = async (event, context) => {
      fired.push([context.functionName, (event as EventBridgeEvent).time]);
    };
    const bus = busWith({ meshSync: record, rotateKeys: record });
    const stop = bus.startClock({ speed: 60 }); // one simulated minute per real second
    await vi.advanceTimersByTimeAsync(15_000);
    expect(fired).toEqual([
      ['meshgate-local-meshSync', '2024-01-01T00:05:00Z'],
      ['meshgate-local-meshSync', '2024-01-01T00:10:00Z'],
      ['meshgate-local-meshSync', '2024-01-01T00:15:00Z'],
    ]);
    await vi.advanceTimersByTimeAsync(165_000); // to 03:00, when the daily rotation cron fires
    expect(fired.filter(([name]) => name === 'meshgate-local-rotateKeys')).toEqual([
      ['meshgate-local-rotateKeys', '2024-01-01T03:00:00Z'],
    ]);
    expect(fired).toHaveLength(36 + 1);
    stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(fired).toHaveLength(37);
  });
});
