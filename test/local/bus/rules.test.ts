import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FunctionSpec, loadServerlessFunctions } from '../../../local/bus/rules.js';
import { parseSchedule } from '../../../local/bus/schedule.js';
import { readReference } from '../../support/reference.js';

const functions = loadServerlessFunctions('serverless.yml');

function sample(name: string): Record<string, unknown> & { detail: Record<string, unknown> } {
  return JSON.parse(readReference(`aws/events/${name}`));
}

/** `function:rule` for every serverless.yml pattern rule the event matches. */
function routes(event: unknown, specs: FunctionSpec[] = functions): string[] {
  return specs.flatMap((spec) =>
    spec.rules.flatMap((rule) => (rule.kind === 'pattern' && rule.matches(event) ? [`${spec.name}:${rule.name}`] : [])),
  );
}

describe('loadServerlessFunctions', () => {
  it('reads handlers, timeouts, concurrency, retries and destinations', () => {
    const meshSync = functions.find((spec) => spec.name === 'meshSync');
    expect(meshSync).toMatchObject({
      deployedName: 'meshgate-local-meshSync',
      handlerPath: 'functions/mesh-sync/handler.ts',
      exportName: 'handler',
      timeoutSeconds: 300,
      memorySizeMB: 512,
      maximumRetryAttempts: 2,
      onFailure: 'sqs:DeadLetterQueue',
    });
    // Reserved concurrency is an optional param, off unless set.
    expect(meshSync?.reservedConcurrency).toBeUndefined();
    const rotateKeys = functions.find((spec) => spec.name === 'rotateKeys');
    expect(rotateKeys).toMatchObject({ timeoutSeconds: 120, maximumRetryAttempts: 2 });
    expect(rotateKeys?.reservedConcurrency).toBeUndefined();
    expect(functions.find((spec) => spec.name === 'rollback')?.rules).toEqual([]);
  });

  it('reads schedules with their names resolved for the stage', () => {
    const schedules = functions.flatMap((spec) =>
      spec.rules.flatMap((rule) =>
        rule.kind === 'schedule' ? [[spec.name, rule.name, rule.schedule.expression]] : [],
      ),
    );
    expect(schedules).toEqual([
      ['meshSync', 'meshgate-local-drift-repair', 'rate(5 minutes)'],
      ['rotateKeys', 'meshgate-local-rotate-due-keys', 'cron(0 3 * * ? *)'],
    ]);
    expect(loadServerlessFunctions('serverless.yml', { stage: 'dev' })[0]?.deployedName).toBe('meshgate-dev-meshSync');
  });

  it('names the rule and the key of a malformed or unsupported pattern', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshgate-bus-'));
    const path = join(dir, 'serverless.yml');
    writeFileSync(
      path,
      `service: demo
functions:
  f:
    handler: f/handler.handler
    role: !GetAtt Role.Arn
    events:
      - eventBridge:
          pattern:
            detail:
              eventName: [{ wildcard: 'Create*' }]
`,
    );
    expect(() => loadServerlessFunctions(path)).toThrow(/rule demo-local-f-rule-1 at 'detail\.eventName'.*wildcard/);
    writeFileSync(
      path,
      'service: demo\nfunctions:\n  f:\n    handler: f/handler.handler\n    events:\n      - schedule: rate(often)\n',
    );
    expect(() => loadServerlessFunctions(path)).toThrow(/rate\(often\)/);
  });
});

describe('sample events against the serverless.yml rules', () => {
  const appMeshRule = 'meshSync:meshgate-local-meshSync-rule-1';
  const cloudMapRule = 'meshSync:meshgate-local-meshSync-rule-2';

  it('routes App Mesh write calls to meshSync', () => {
    expect(routes(sample('appmesh-createmesh-cloudtrail.json'))).toEqual([appMeshRule]);
    expect(routes(sample('appmesh-createvirtualnode-cloudtrail.DERIVED.json'))).toEqual([appMeshRule]);
  });

  it('routes Cloud Map registrations and service changes to meshSync', () => {
    const register = sample('servicediscovery-registerinstance-cloudtrail.DERIVED.json');
    expect(routes(register)).toEqual([cloudMapRule]);
    expect(routes({ ...register, detail: { ...register.detail, eventName: 'DeregisterInstance' } })).toEqual([
      cloudMapRule,
    ]);
    expect(routes({ ...register, detail: { ...register.detail, eventName: 'CreateService' } })).toEqual([cloudMapRule]);
    expect(routes({ ...register, detail: { ...register.detail, eventName: 'CreateHttpNamespace' } })).toEqual([]);
  });

  it('drops failed calls (errorCode present)', () => {
    const created = sample('appmesh-createvirtualnode-cloudtrail.DERIVED.json');
    const failed = {
      ...created,
      detail: { ...created.detail, errorCode: 'ConflictException', responseElements: null },
    };
    expect(routes(failed)).toEqual([]);
  });

  it('drops App Mesh service events such as StreamAggregatedResources', () => {
    const mesh = sample('appmesh-createmesh-cloudtrail.json');
    const envoyConnect = {
      ...mesh,
      'detail-type': 'AWS Service Event via CloudTrail',
      detail: {
        ...mesh.detail,
        eventName: 'StreamAggregatedResources',
        eventType: 'AwsServiceEvent',
        serviceEventDetails: { eventStatus: 'ConnectionEstablished' },
      },
    };
    expect(routes(envoyConnect)).toEqual([]);
  });

  it('drops read-only calls, other services, scheduled events and Secrets Manager events', () => {
    const mesh = sample('appmesh-createmesh-cloudtrail.json');
    expect(routes({ ...mesh, detail: { ...mesh.detail, eventName: 'DescribeMesh' } })).toEqual([]);
    for (const name of [
      'eventbridge-scheduled-event.json',
      'secretsmanager-rotation-failed.json',
      'secretsmanager-rotation-succeeded.json',
      'secretsmanager-secret-label-updated.json',
      'secretsmanager-rotation-lambda-createSecret.json',
    ]) {
      expect(routes(sample(name)), name).toEqual([]);
    }
  });
});

describe('parseSchedule', () => {
  it('fires rates a period apart', () => {
    const next = parseSchedule('rate(5 minutes)').next(new Date('2024-01-01T00:00:00Z'));
    expect(next?.toISOString()).toBe('2024-01-01T00:05:00.000Z');
    expect(parseSchedule('rate(1 day)').next(new Date('2024-01-01T00:00:00Z'))?.toISOString()).toBe(
      '2024-01-02T00:00:00.000Z',
    );
  });

  it('fires crons at the next matching minute (UTC)', () => {
    const daily = parseSchedule('cron(0 3 * * ? *)');
    expect(daily.next(new Date('2024-01-01T02:59:30Z'))?.toISOString()).toBe('2024-01-01T03:00:00.000Z');
    expect(daily.next(new Date('2024-01-01T03:00:00Z'))?.toISOString()).toBe('2024-01-02T03:00:00.000Z');
    const weekdays = parseSchedule('cron(0/15 9-17 ? * MON-FRI *)');
    expect(weekdays.next(new Date('2024-01-05T17:50:00Z'))?.toISOString()).toBe('2024-01-08T09:00:00.000Z');
    expect(weekdays.next(new Date('2024-01-08T09:01:00Z'))?.toISOString()).toBe('2024-01-08T09:15:00.000Z');
    expect(parseSchedule('cron(0 0 1 JAN,JUL ? 2025)').next(new Date('2024-03-01T00:00:00Z'))?.toISOString()).toBe(
      '2025-01-01T00:00:00.000Z',
    );
    expect(parseSchedule('cron(0 0 31 2 ? *)').next(new Date('2024-01-01T00:00:00Z'))).toBeUndefined();
  });

  it('refuses what EventBridge would refuse or this clock cannot do', () => {
    expect(() => parseSchedule('cron(0 3 * * * *)', 'rule r')).toThrow(/rule r.*'\?'/);
    expect(() => parseSchedule('cron(0 3 L * ? *)')).toThrow(/L, W and #/);
    expect(() => parseSchedule('cron(0 3 * *)')).toThrow(/6 fields/);
    expect(() => parseSchedule('every 5 minutes')).toThrow(/neither rate/);
  });
});
