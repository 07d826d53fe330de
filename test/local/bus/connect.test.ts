import { AppMeshClient, CreateMeshCommand, DescribeMeshCommand } from '@aws-sdk/client-app-mesh';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AwsDouble, type EventBridgeEvent, startAwsDouble } from '../../../local/aws/server.js';
import { createLocalBus, type Handler, type LocalBus } from '../../../local/bus/bus.js';
import { connectAwsDouble } from '../../../local/bus/connect.js';
import { loadServerlessFunctions } from '../../../local/bus/rules.js';
import { requestSyncByEvent } from '../../../shared/events/sync-request.js';

describe('AWS double → local bus → handler', () => {
  let double: AwsDouble;
  let bus: LocalBus;
  let disconnect: () => void;
  const received: Array<{ function: string; event: unknown }> = [];

  beforeEach(async () => {
    received.length = 0;
    double = await startAwsDouble();
    const recorder =
      (name: string): Handler =>
      async (event) => {
        received.push({ function: name, event });
        return { handledBy: name };
      };
    bus = createLocalBus({
      functions: loadServerlessFunctions('serverless.yml'),
      retryDelayMs: 1,
      loadHandler: async (spec) => recorder(spec.name),
    });
    disconnect = connectAwsDouble(double, bus);
  });

  afterEach(async () => {
    disconnect();
    await double.close();
  });

  function appMesh(): AppMeshClient {
    return new AppMeshClient({
      endpoint: double.url,
      region: double.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }

  it('delivers a real App Mesh write, as its CloudTrail event, to meshSync; reads trigger nothing', async () => {
    const client = appMesh();
    await client.send(new CreateMeshCommand({ meshName: 'apps' }));
    await client.send(new DescribeMeshCommand({ meshName: 'apps' }));
    await bus.idle();

    expect(received).toHaveLength(1);
    const [delivery] = received;
    const event = delivery?.event as EventBridgeEvent;
    expect(delivery?.function).toBe('meshSync');
    expect(event).toMatchObject({
      source: 'aws.appmesh',
      'detail-type': 'AWS API Call via CloudTrail',
      detail: {
        eventSource: 'appmesh.amazonaws.com',
        eventName: 'CreateMesh',
        requestParameters: { meshName: 'apps' },
      },
    });
    expect(event).toEqual(double.cloudTrail[0]);
  });

  it('delivers a sync request put on the default bus to meshSync, for its own stage only', async () => {
    const eventBridge = new EventBridgeClient({
      endpoint: double.url,
      region: double.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await requestSyncByEvent(eventBridge, 'local')('pending after rotation finishSecret');
    await requestSyncByEvent(eventBridge, 'prod')('another stage');
    await bus.idle();

    expect(received.map((delivery) => delivery.function)).toEqual(['meshSync']);
    expect(received[0]?.event).toMatchObject({
      source: 'meshgate',
      'detail-type': 'Sync Requested',
      detail: { stage: 'local', reason: 'pending after rotation finishSecret' },
    });
  });

  it('routes lambda invokes by deployed and short name through the bus', async () => {
    await expect(double.invokeFunction('meshgate-local-rollback', { to: 'previous' })).resolves.toEqual({
      handledBy: 'rollback',
    });
    await expect(
      double.invokeFunction('arn:aws:lambda:us-east-1:123456789012:function:meshgate-local-rotateKeys', {}),
    ).resolves.toEqual({ handledBy: 'rotateKeys' });
    await expect(double.invokeFunction('meshSync', {})).resolves.toEqual({ handledBy: 'meshSync' });
    expect(bus.invocations.map((record) => record.function)).toEqual(['rollback', 'rotateKeys', 'meshSync']);
  });

  it('stops publishing once disconnected', async () => {
    disconnect();
    await appMesh().send(new CreateMeshCommand({ meshName: 'apps' }));
    await bus.idle();
    expect(double.cloudTrail).toHaveLength(1);
    expect(received).toEqual([]);
  });
});
