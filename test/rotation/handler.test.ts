import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRotateKeysHandler } from '../../functions/rotate-keys/handler.js';
import { findLeaks, TEST_ADMIN_TOKEN, TEST_ROTATION_TOKEN } from '../support/secrets.js';
import {
  addSyncedConsumer,
  blockingPending,
  currentTokenVerdict,
  FUNCTION_NAME,
  type RotationWorld,
  rotate,
  startRotationWorld,
} from './harness.js';

let world: RotationWorld;
let output: string[] = [];
let restoreStreams: () => void = () => {};

/** Everything written to stdout/stderr while a test runs (Powertools logs JSON lines there). */
function captureOutput(): void {
  output = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write.bind(stream));
  for (const [index, stream] of streams.entries()) {
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '');
      return (originals[index] as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  }
  restoreStreams = () => {
    for (const [index, stream] of streams.entries()) stream.write = originals[index] as typeof stream.write;
  };
}

const lambdaContext = {
  functionName: FUNCTION_NAME,
  awsRequestId: 'request-1',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`,
  memoryLimitInMB: '256',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

beforeAll(async () => {
  world = await startRotationWorld();
});
afterAll(() => world.close());
beforeEach(() => {
  world.reset();
  captureOutput();
});
afterEach(() => restoreStreams());

function registerHandler(logger: Logger) {
  const handler = createRotateKeysHandler(async () => ({ ...world.deps, logger }), logger);
  // As the service does, but with the suite's known RotationToken so the scan can look for it.
  world.aws.registerFunction(FUNCTION_NAME, (event, context) =>
    handler({ ...(event as object), RotationToken: TEST_ROTATION_TOKEN }, context as unknown as Context),
  );
  return handler;
}

describe('rotateKeys handler', () => {
  it('runs rotation invocations (any step spelling), schedules, and drops other events with a reason', async () => {
    const handler = registerHandler(new Logger({ serviceName: 'rotate-keys-test' }));
    await addSyncedConsumer(world, 'alice');
    const { versionId } = await rotate(world, 'alice');
    const SecretId = 'meshgate/consumers/alice';
    await expect(
      handler({ Step: 'finish_secret', SecretId, ClientRequestToken: versionId }, lambdaContext),
    ).resolves.toMatchObject({ status: 'already-current', consumer: 'alice' });
    await expect(
      handler({ Step: 'FinishSecret', SecretId, ClientRequestToken: versionId }, lambdaContext),
    ).resolves.toMatchObject({ status: 'already-current' });
    await expect(handler({ Step: 'dance', SecretId, ClientRequestToken: versionId }, lambdaContext)).rejects.toThrow(
      'malformed rotation invocation: Step',
    );

    const schedule = JSON.parse(
      readFileSync(new URL('../../events/schedule-rotate-due-keys.json', import.meta.url), 'utf8'),
    );
    const scheduled = await handler(schedule, lambdaContext);
    expect(scheduled).toMatchObject({ started: [], notDue: 1, failures: [] });

    await expect(handler({ hello: 'world' }, lambdaContext)).resolves.toEqual({
      status: 'dropped',
      reason: 'neither a Secrets Manager rotation invocation nor a Scheduled Event',
    });
  });

  it('logs no private key, RotationToken or admin token, through successes and failures', async () => {
    registerHandler(new Logger({ serviceName: 'rotate-keys-test', logLevel: 'DEBUG' }));
    await addSyncedConsumer(world, 'bob');
    await rotate(world, 'bob');
    world.kongDouble.faults.inject({ method: 'POST', path: /\/jwt$/, status: 500 });
    await expect(rotate(world, 'bob')).rejects.toThrow('during setSecret step');
    world.aws.faults.inject({ match: (request) => request.operation === 'UpdateSecretVersionStage', status: 500 });
    await expect(rotate(world, 'bob')).rejects.toThrow('during finishSecret step');
    expect(await blockingPending(world, 'bob')).toBeUndefined();
    expect((await currentTokenVerdict(world, 'bob')).verdict).toMatchObject({ ok: true });

    const text = output.join('');
    expect(text).toContain('rotation step done');
    expect(text).toContain('rotation step failed');
    expect(findLeaks(text)).toEqual([]);
    expect(text).not.toContain(TEST_ROTATION_TOKEN);
    expect(text).not.toContain(TEST_ADMIN_TOKEN);
    expect(text).not.toMatch(/privateKeyPem|BEGIN PRIVATE KEY/);
    expect(findLeaks(JSON.stringify(world.audit))).toEqual([]);
    expect(JSON.stringify(world.audit)).not.toContain(TEST_ROTATION_TOKEN);
  });

  it('never logs the rotation event, even with POWERTOOLS_LOGGER_LOG_EVENT=true', async () => {
    const previous = process.env.POWERTOOLS_LOGGER_LOG_EVENT;
    process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
    const logger = new Logger({ serviceName: 'rotate-keys-test' });
    if (previous === undefined) delete process.env.POWERTOOLS_LOGGER_LOG_EVENT;
    else process.env.POWERTOOLS_LOGGER_LOG_EVENT = previous;
    registerHandler(logger);
    await addSyncedConsumer(world, 'carol');
    await rotate(world, 'carol');

    const text = output.join('');
    expect(text).toContain('rotation step done');
    expect(text).not.toContain(TEST_ROTATION_TOKEN);
  });
});
