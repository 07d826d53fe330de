import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeRejection, dropReason, MeshSyncEventSchema, triggerFor } from '../../shared/events/incoming.js';
import { readReference } from '../support/reference.js';

const sample = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8'));

describe('meshSync events', () => {
  it.each([
    ['appmesh-create-virtual-gateway.json', { kind: 'full', reason: 'appmesh:CreateVirtualGateway' }],
    ['appmesh-create-gateway-route.json', { kind: 'full', reason: 'appmesh:CreateGatewayRoute' }],
    ['appmesh-update-gateway-route.json', { kind: 'full', reason: 'appmesh:UpdateGatewayRoute' }],
    ['appmesh-delete-gateway-route.json', { kind: 'full', reason: 'appmesh:DeleteGatewayRoute' }],
    ['appmesh-create-virtual-service.json', { kind: 'full', reason: 'appmesh:CreateVirtualService' }],
    ['appmesh-tag-resource.json', { kind: 'full', reason: 'appmesh:TagResource' }],
    ['appmesh-delete-virtual-gateway.json', { kind: 'full', reason: 'appmesh:DeleteVirtualGateway' }],
    [
      'cloudmap-register-instance.json',
      { kind: 'scoped', reason: 'cloudmap:RegisterInstance', serviceId: 'srv-p5zdwlg5uvvzjita' },
    ],
    [
      'cloudmap-deregister-instance.json',
      { kind: 'scoped', reason: 'cloudmap:DeregisterInstance', serviceId: 'srv-p5zdwlg5uvvzjita' },
    ],
    ['schedule-drift-repair.json', { kind: 'full', reason: 'schedule' }],
    ['sync-requested.json', { kind: 'full', reason: 'pending after rotation finishSecret', dryRun: false }],
    ['manual-sync.json', { kind: 'full', reason: 'operator check', dryRun: true }],
  ])('%s becomes a %o sync', (file, expected) => {
    const event = MeshSyncEventSchema.parse(sample(file));
    expect(dropReason(event)).toBeUndefined();
    expect(triggerFor(event)).toMatchObject(expected);
  });

  it('the reference samples parse too', () => {
    for (const file of ['appmesh-createmesh-cloudtrail.json', 'appmesh-createvirtualnode-cloudtrail.DERIVED.json']) {
      const event = MeshSyncEventSchema.parse(JSON.parse(readReference(`aws/events/${file}`)));
      expect(triggerFor(event).kind).toBe('full');
    }
  });

  it('drops a failed API call with its error code as the reason', () => {
    const event = MeshSyncEventSchema.parse(sample('appmesh-failed-call.json'));
    expect(dropReason(event)).toBe('the API call failed (errorCode ConflictException); the mesh did not change');
  });

  it.each([
    [null, 'expected an EventBridge event object, got null'],
    [[1], 'expected an EventBridge event object, got an array'],
    [{ source: 'aws.s3', 'detail-type': 'Object Created', detail: {} }, "unknown event source 'aws.s3'"],
    [
      {
        ...(sample('appmesh-create-gateway-route.json') as object),
        detail: { eventSource: 'appmesh.amazonaws.com', eventName: 'DescribeMesh' },
      },
      "unsupported event 'aws.appmesh:DescribeMesh'",
    ],
  ])('names why %j is rejected', (raw, reason) => {
    const result = MeshSyncEventSchema.safeParse(raw);
    expect(result.success).toBe(false);
    if (!result.success) expect(describeRejection(raw, result.error)).toBe(reason);
  });

  it('names the missing field of a Cloud Map event without a service id', () => {
    const raw = structuredClone(sample('cloudmap-register-instance.json')) as {
      detail: { requestParameters: Record<string, unknown> };
    };
    delete raw.detail.requestParameters.serviceId;
    const result = MeshSyncEventSchema.safeParse(raw);
    expect(result.success).toBe(false);
    if (!result.success) expect(describeRejection(raw, result.error)).toMatch(/serviceId/);
  });

  it('every sample in events/ is used by a test', () => {
    const testDir = new URL('../', import.meta.url);
    const suite = readdirSync(testDir, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => readFileSync(new URL(file, testDir), 'utf8'))
      .join('\n');
    for (const file of readdirSync(new URL('../../events/', import.meta.url))) {
      expect(suite.includes(file), `${file} has no test`).toBe(true);
    }
  });
});
