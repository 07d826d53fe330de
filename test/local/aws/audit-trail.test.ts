import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  type FilteredLogEvent,
  FilterLogEventsCommand,
  type FilterLogEventsCommandInput,
  PutLogEventsCommand,
  PutResourcePolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeArchiveCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { roleEnv } from '../../../local/aws/identity.js';
import type { EventBridgeService } from '../../../local/aws/services/eventbridge.js';
import { createStackResources } from '../../../local/aws/stack-resources.js';
import { useAwsDouble } from './double.js';

/**
 * The audit trail on the AWS double, driven by the AWS SDK: serverless.yml's archive, log group, resource policy and
 * rule created as CloudFormation would; events put on the audit bus reach the log group; FilterLogEvents pages,
 * orders and bounds as CloudWatch Logs does.
 */

const aws = useAwsDouble();
const STAGE = 'local';
const BUS = `meshgate-audit-${STAGE}`;
const GROUP = `/aws/events/meshgate-audit-${STAGE}`;
let logs: CloudWatchLogsClient;

beforeAll(() => {
  logs = new CloudWatchLogsClient({
    endpoint: aws.double().url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' },
    maxAttempts: 1,
  });
});

const putAudit = (entries: { detailType: string; detail: Record<string, unknown>; time?: Date }[], bus = BUS) =>
  aws.clients().eventBridge.send(
    new PutEventsCommand({
      Entries: entries.map(({ detailType, detail, time }) => ({
        Source: 'meshgate',
        DetailType: detailType,
        Detail: JSON.stringify(detail),
        EventBusName: bus,
        ...(time ? { Time: time } : {}),
      })),
    }),
  );

async function allPages(input: FilterLogEventsCommandInput): Promise<{ pages: number; events: FilteredLogEvent[] }> {
  const events: FilteredLogEvent[] = [];
  let pages = 0;
  let nextToken: string | undefined;
  do {
    const page = await logs.send(new FilterLogEventsCommand({ ...input, nextToken }));
    pages += 1;
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return { pages, events };
}

describe('the audit trail from serverless.yml', () => {
  beforeEach(async () => {
    await createStackResources(aws.double().url, { stage: STAGE, account: '123456789012', region: 'us-east-1' });
  });

  it('delivers every event on the audit bus to the log group, the whole event as the message, in a stream named by its id', async () => {
    const put = await putAudit([
      { detailType: 'Sync Applied', detail: { trigger: 'schedule', runId: 'r1' } },
      { detailType: 'Sync Frozen', detail: { by: 'alice', reason: 'incident' } },
    ]);
    // Another bus's events are not the audit trail's.
    await putAudit([{ detailType: 'Sync Applied', detail: {} }], 'default');

    const { events } = await allPages({ logGroupName: GROUP });
    expect(events.map((event) => JSON.parse(event.message ?? '{}')['detail-type'])).toEqual([
      'Sync Applied',
      'Sync Frozen',
    ]);
    expect(events.map((event) => event.logStreamName)).toEqual(put.Entries?.map((entry) => entry.EventId));
    expect(JSON.parse(events[1]?.message ?? '{}')).toMatchObject({
      source: 'meshgate',
      detail: { by: 'alice', reason: 'incident' },
    });
  });

  it('archives what the archive pattern matches, with the retention param', async () => {
    await putAudit([{ detailType: 'Sync Applied', detail: {} }]);
    const archive = await aws
      .clients()
      .eventBridge.send(new DescribeArchiveCommand({ ArchiveName: `meshgate-audit-${STAGE}` }));
    expect(archive).toMatchObject({
      EventSourceArn: `arn:aws:events:us-east-1:123456789012:event-bus/${BUS}`,
      RetentionDays: 90,
      EventCount: 1,
      State: 'ENABLED',
    });
  });

  it('pages with nextToken exactly as the API does: limit per page, no token on the last page, nothing twice', async () => {
    const base = Date.now() - 60_000;
    for (let i = 0; i < 7; i += 1) {
      await putAudit([{ detailType: 'Sync Applied', detail: { n: i }, time: new Date(base + i * 1000) }]);
    }
    const { pages, events } = await allPages({ logGroupName: GROUP, limit: 3 });
    expect(pages).toBe(3);
    expect(events.map((event) => JSON.parse(event.message ?? '{}').detail.n)).toEqual([0, 1, 2, 3, 4, 5, 6]);

    // EventBridge keeps event times to the second.
    const since = Math.floor(base / 1000) * 1000;
    const newestFirst = await allPages({ logGroupName: GROUP, limit: 3, startFromHead: false, startTime: since });
    expect(newestFirst.events.map((event) => JSON.parse(event.message ?? '{}').detail.n)).toEqual([
      6, 5, 4, 3, 2, 1, 0,
    ]);

    const last = await logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, limit: 7 }));
    expect(last.events).toHaveLength(7);
    expect(last.nextToken).toBeUndefined();
  });

  it('bounds by startTime and endTime (both inclusive) and by terms', async () => {
    const base = Date.now() - 60_000;
    await putAudit([
      { detailType: 'Sync Applied', detail: { n: 0 }, time: new Date(base) },
      { detailType: 'Key Rotated', detail: { n: 1 }, time: new Date(base + 2000) },
      { detailType: 'Sync Applied', detail: { n: 2 }, time: new Date(base + 4000) },
    ]);
    const t = (ms: number) => Math.floor((base + ms) / 1000) * 1000;
    const ranged = await allPages({ logGroupName: GROUP, startTime: t(2000), endTime: t(4000) });
    expect(ranged.events.map((event) => JSON.parse(event.message ?? '{}').detail.n)).toEqual([1, 2]);
    const rotated = await allPages({ logGroupName: GROUP, filterPattern: '"Key Rotated"' });
    expect(rotated.events).toHaveLength(1);
  });

  it('refuses what CloudWatch Logs refuses', async () => {
    const refusal = (input: FilterLogEventsCommandInput) =>
      logs.send(new FilterLogEventsCommand(input)).then(
        () => 'accepted',
        (error: Error) => `${error.name}: ${error.message}`,
      );
    expect(await refusal({ logGroupName: '/aws/events/nope' })).toBe(
      'ResourceNotFoundException: The specified log group does not exist.',
    );
    expect(await refusal({ logGroupName: GROUP, limit: 0 })).toMatch(/^InvalidParameterException: .*limit/);
    expect(await refusal({ logGroupName: GROUP, limit: 10_001 })).toMatch(/^InvalidParameterException: .*limit/);
    expect(await refusal({ logGroupName: GROUP, nextToken: 'forged' })).toBe(
      'InvalidParameterException: The specified nextToken is invalid.',
    );
    expect(await refusal({ logGroupName: GROUP, logGroupIdentifier: GROUP })).toMatch(/^InvalidParameterException/);
    expect(await refusal({ logGroupName: GROUP, startFromHead: false, startTime: 0 })).toMatch(
      /^InvalidParameterException: startFromHead=false requires a startTime/,
    );
  });
});

describe('EventBridge delivery to a log group', () => {
  const group = '/aws/events/elsewhere';
  const arn = `arn:aws:logs:us-east-1:123456789012:log-group:${group}`;

  beforeEach(async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    await aws
      .clients()
      .eventBridge.send(
        new PutRuleCommand({ Name: 'to-logs', EventBusName: BUS, EventPattern: '{"source":["meshgate"]}' }),
      );
    await aws
      .clients()
      .eventBridge.send(
        new PutTargetsCommand({ Rule: 'to-logs', EventBusName: BUS, Targets: [{ Id: 'g', Arn: arn }] }),
      );
  });

  it('fails without a resource policy that lets events.amazonaws.com write, as on AWS (no role is used)', async () => {
    await putAudit([{ detailType: 'Sync Applied', detail: {} }]);
    expect((await allPages({ logGroupName: group })).events).toEqual([]);
    expect(aws.double().service<EventBridgeService>('events').busRules.failedDeliveries).toEqual([
      expect.objectContaining({ rule: 'to-logs', reason: expect.stringMatching(/no resource policy allows/) }),
    ]);

    await logs.send(
      new PutResourcePolicyCommand({
        policyName: 'events',
        policyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: `${arn}:*`,
            },
          ],
        }),
      }),
    );
    await putAudit([{ detailType: 'Sync Applied', detail: {} }]);
    expect((await allPages({ logGroupName: group })).events).toHaveLength(1);
  });

  it('a disabled rule delivers nothing', async () => {
    await aws.clients().eventBridge.send(
      new PutRuleCommand({
        Name: 'to-logs',
        EventBusName: BUS,
        EventPattern: '{"source":["meshgate"]}',
        State: 'DISABLED',
      }),
    );
    await putAudit([{ detailType: 'Sync Applied', detail: {} }]);
    expect(aws.double().service<EventBridgeService>('events').busRules.failedDeliveries).toEqual([]);
    expect((await allPages({ logGroupName: group })).events).toEqual([]);
  });
});

describe('CloudWatch Logs writes', () => {
  it('PutLogEvents needs the stream, events in order; IAM scopes a role to its log groups', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/x' }));
    const put = (logStreamName: string, timestamps: number[]) =>
      logs
        .send(
          new PutLogEventsCommand({
            logGroupName: '/x',
            logStreamName,
            logEvents: timestamps.map((timestamp) => ({ timestamp, message: 'm' })),
          }),
        )
        .then(
          () => 'ok',
          (error: Error) => error.name,
        );
    expect(await put('s', [Date.now()])).toBe('ResourceNotFoundException');
    await logs.send(new CreateLogStreamCommand({ logGroupName: '/x', logStreamName: 's' }));
    expect(await put('s', [Date.now(), Date.now() - 1000])).toBe('InvalidParameterException');
    expect(await put('s', [Date.now()])).toBe('ok');

    // The meshSync role may write its own function's log group only.
    const asMeshSync = new CloudWatchLogsClient({
      endpoint: aws.double().url,
      region: 'us-east-1',
      credentials: (() => {
        const env = roleEnv(aws.double().functionRoles.meshSync as string, 'meshgate-local-meshSync');
        return { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' };
      })(),
      maxAttempts: 1,
    });
    const refused = await asMeshSync.send(new FilterLogEventsCommand({ logGroupName: GROUP })).then(
      () => 'allowed',
      (error: Error) => error.name,
    );
    expect(refused).toBe('AccessDeniedException');
    asMeshSync.destroy();
  });
});
