/**
 * The packaged CloudFormation template (`serverless package`, offline) with the deploy params set: every function in
 * the VPC with the network-interface grants, the alarm topic's e-mail subscription, no reserved concurrency unless
 * asked, and alarms that watch metrics the handlers really emit (namespace, name and dimensions).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EmfOutput } from '@aws-lambda-powertools/metrics/types';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMeshSyncHandler } from '../../functions/mesh-sync/handler.js';
import { createRotateKeysHandler } from '../../functions/rotate-keys/handler.js';
import type { App } from '../../shared/app/context.js';
import { metrics } from '../../shared/lambda/observability.js';

interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, unknown>;
}

let outDir: string;
let template: { Resources: Record<string, Resource>; Conditions: Record<string, unknown> };

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'meshgate-package-'));
  await promisify(execFile)(
    'npx',
    [
      'serverless',
      'package',
      '--stage',
      'ci',
      '--package',
      outDir,
      '--param=subnetIds=subnet-0a1,subnet-0b2',
      '--param=securityGroupIds=sg-0c3',
      '--param=alarmEmail=oncall@example.com',
    ],
    { env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' }, timeout: 240_000 },
  );
  template = JSON.parse(await readFile(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'));
}, 300_000);

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

const ofType = (type: string) => Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

describe('VPC params', () => {
  it('put every function in the subnets and security groups given as comma lists', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.map(([id]) => id).sort()).toEqual([
      'IssueTokenLambdaFunction',
      'MeshSyncLambdaFunction',
      'RollbackLambdaFunction',
      'RotateKeysLambdaFunction',
    ]);
    for (const [, fn] of functions) {
      expect(fn.Properties.VpcConfig).toEqual({
        'Fn::If': [
          'InVpc',
          {
            SubnetIds: { 'Fn::Split': [',', 'subnet-0a1,subnet-0b2'] },
            SecurityGroupIds: { 'Fn::Split': [',', 'sg-0c3'] },
          },
          { Ref: 'AWS::NoValue' },
        ],
      });
    }
    expect(template.Conditions.InVpc).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['subnet-0a1,subnet-0b2', ''] }] });
  });

  it('give every function role the network-interface permissions a VPC function needs', () => {
    const policy = template.Resources.VpcNetworkInterfacesPolicy!;
    expect(policy.Condition).toBe('InVpc');
    const roles = ofType('AWS::Lambda::Function').map(
      ([, fn]) => (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0],
    );
    expect((policy.Properties.Roles as { Ref: string }[]).map((role) => role.Ref).sort()).toEqual(roles.sort());
    const actions = (policy.Properties.PolicyDocument as { Statement: { Action: string[] }[] }).Statement.flatMap(
      (statement) => statement.Action,
    );
    expect(actions).toEqual(
      expect.arrayContaining([
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ]),
    );
  });

  it('reserve no concurrency unless asked', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('subscribe alarmEmail to the alarm topic', () => {
    expect(template.Resources.AlarmEmailSubscription).toMatchObject({
      Condition: 'HasAlarmEmail',
      Properties: { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: 'AlarmTopic' } },
    });
  });
});

/** Runs `invoke` and returns the EMF documents the metrics middleware publishes meanwhile. */
async function emfOf(invoke: () => Promise<unknown>): Promise<EmfOutput[]> {
  const published: EmfOutput[] = [];
  const spy = vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
    if (metrics.hasStoredMetrics()) published.push(metrics.serializeMetrics());
    metrics.clearMetrics();
    return metrics;
  });
  try {
    await invoke().catch(() => undefined);
  } finally {
    spy.mockRestore();
  }
  return published;
}

const lambdaContext = (functionName: string) =>
  ({
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: 'req-1',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
  }) as never;

describe('alarms', () => {
  it('each watch a metric the handlers emit, with the same namespace, name and dimensions', async () => {
    const unreachable = new Error('connect ECONNREFUSED kong-admin.internal:8444');
    const failingApp = {
      config: {},
      meshSyncDeps: () => Promise.reject(unreachable),
    } as unknown as App;
    const scheduled = JSON.parse(await readFile('events/schedule-drift-repair.json', 'utf8'));
    const rotation = JSON.parse(await readFile('events/rotation-createSecret.json', 'utf8'));
    const emitted = [
      // A sync that throws (Kong unreachable) and a rotation step that fails.
      ...(await emfOf(() => createMeshSyncHandler(() => failingApp)(scheduled, lambdaContext('meshgate-ci-meshSync')))),
      ...(await emfOf(() =>
        createRotateKeysHandler(() => Promise.reject(unreachable))(rotation, lambdaContext('meshgate-ci-rotateKeys')),
      )),
    ];
    const environment = (
      template.Resources.MeshSyncLambdaFunction!.Properties.Environment as {
        Variables: Record<string, string>;
      }
    ).Variables;

    const alarms = ofType('AWS::CloudWatch::Alarm').filter(
      ([, alarm]) => !String(alarm.Properties.Namespace).startsWith('AWS/'),
    );
    expect(alarms.map(([id]) => id).sort()).toEqual(['RotationFailedAlarm', 'SyncFailedAlarm']);
    for (const [id, alarm] of alarms) {
      const { Namespace, MetricName, Dimensions } = alarm.Properties as {
        Namespace: string;
        MetricName: string;
        Dimensions: { Name: string; Value: string }[];
      };
      // The deployed functions name their namespace and service from these variables.
      expect(environment.POWERTOOLS_METRICS_NAMESPACE, id).toBe(Namespace);
      const matching = emitted.filter((emf) =>
        emf._aws.CloudWatchMetrics.some(
          (directive) =>
            directive.Namespace === Namespace &&
            directive.Metrics.some((metric) => metric.Name === MetricName) &&
            directive.Dimensions.some(
              (set) =>
                set.length === Dimensions.length &&
                Dimensions.every(
                  (dimension) =>
                    set.includes(dimension.Name) &&
                    String((emf as Record<string, unknown>)[dimension.Name]) ===
                      (dimension.Name === 'service' ? environment.POWERTOOLS_SERVICE_NAME : dimension.Value),
                ),
            ),
        ),
      );
      expect(matching.length, `${id} watches ${Namespace}/${MetricName}, which no handler emitted`).toBeGreaterThan(0);
      // The failure is counted: the alarm (Sum ≥ 1) fires.
      expect(
        matching.some((emf) => (emf as Record<string, unknown>)[MetricName] === 1),
        id,
      ).toBe(true);
    }
    expect(
      alarms.every(([, alarm]) => JSON.stringify(alarm.Properties.AlarmActions) === '[{"Ref":"AlarmTopic"}]'),
    ).toBe(true);
  });
});
