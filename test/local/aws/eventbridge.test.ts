import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import type { EventBridgeService } from '../../../local/aws/services/eventbridge.js';
import { useAwsDouble } from './double.js';

const aws = useAwsDouble();
const bus = () => aws.double().service<EventBridgeService>('events');

describe('EventBridge PutEvents', () => {
  it('keeps accepted events as EventBridge delivers them and counts per-entry failures', async () => {
    const result = await aws.clients().eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'meshgate',
            DetailType: 'Sync Applied',
            Detail: JSON.stringify({ trigger: 'schedule', counts: { created: 2 } }),
            EventBusName: 'arn:aws:events:us-east-1:123456789012:event-bus/audit',
            Time: new Date('2027-01-01T00:00:00Z'),
          },
          { Source: 'meshgate', DetailType: 'Sync Failed', Detail: '[1,2]' },
          { Source: 'meshgate', DetailType: 'Sync Failed', Detail: 'not json' },
          { Source: 'aws.appmesh', DetailType: 'x', Detail: '{}' },
          { Source: 'meshgate', Detail: '{}' },
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(4);
    expect(result.Entries?.map((entry) => entry.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'MalformedDetail',
      'MalformedDetail',
      'NotAuthorizedForSourceException',
      'InvalidArgument',
    ]);
    expect(bus().events).toEqual([
      {
        bus: 'audit',
        event: {
          version: '0',
          id: result.Entries?.[0]?.EventId,
          'detail-type': 'Sync Applied',
          source: 'meshgate',
          account: '123456789012',
          time: '2027-01-01T00:00:00Z',
          region: 'us-east-1',
          resources: [],
          detail: { trigger: 'schedule', counts: { created: 2 } },
        },
      },
    ]);
  });

  it('refuses an empty batch and more than ten entries', async () => {
    const entry = { Source: 'meshgate', DetailType: 'Sync Planned', Detail: '{}' };
    await expect(aws.clients().eventBridge.send(new PutEventsCommand({ Entries: [] }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(
      aws.clients().eventBridge.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry) })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    expect(bus().events).toHaveLength(0);
  });
});
