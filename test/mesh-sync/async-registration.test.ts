/**
 * Cloud Map applies RegisterInstance / DeregisterInstance asynchronously (the call answers an OperationId; the
 * operation goes SUBMITTED → PENDING → SUCCESS). The run the CloudTrail event triggers waits, bounded, for the
 * operation before it reads, so the change reaches Kong in that run rather than at the next drift repair.
 */
import { describe, expect, it } from 'vitest';
import type { CloudMapService } from '../../local/aws/services/cloudmap.js';
import { waitForOperation } from '../../shared/sources/cloudmap/operations.js';
import { deregisterInstance, ownedView, registerInstance, useSyncWorld } from './world.js';

const sync = useSyncWorld({ mesh: 'synced', checkUnowned: false });

const cloudMap = () => sync.world.aws.service<CloudMapService>('servicediscovery');

function lastCloudTrailEvent() {
  const event = sync.world.aws.cloudTrail.at(-1);
  if (!event) throw new Error('the AWS double published no CloudTrail event');
  return event;
}

const targetsOf = async () => (await ownedView(sync.world.kong)).targets.map((target) => target.target).sort();

describe('asynchronous Cloud Map registration', () => {
  it('the CloudTrail event carries the operation id, as AWS writes responseElements', async () => {
    cloudMap().setOperationDelay(400);
    await registerInstance(sync.world.clients, sync.mesh.ingressServiceId, 'ingress-3', '10.0.1.3');
    const detail = lastCloudTrailEvent().detail as { responseElements: { operationId?: string } };
    expect(detail.responseElements).toEqual({ operationId: expect.any(String) });
  });

  it('a registration run waits for the operation and adds the target in that run', async () => {
    cloudMap().setOperationDelay(600);
    const before = await targetsOf();
    await registerInstance(sync.world.clients, sync.mesh.ingressServiceId, 'ingress-3', '10.0.1.3');
    sync.world.aws.requests.clear();
    // Delivered at once, while the operation is still SUBMITTED: the instance is not visible yet.
    const result = await sync.world.invoke(lastCloudTrailEvent());

    expect(result).toMatchObject({ outcome: 'applied', trigger: 'cloudmap:RegisterInstance' });
    expect(await targetsOf()).toEqual([...before, '10.0.1.3:8080'].sort());
    expect(sync.world.aws.requests.entries.some((entry) => entry.operation === 'GetOperation')).toBe(true);
  });

  it('a deregistration run waits too, and removes the target in that run', async () => {
    cloudMap().setOperationDelay(600);
    await deregisterInstance(sync.world.clients, sync.mesh.ingressServiceId, 'ingress-2');
    const result = await sync.world.invoke(lastCloudTrailEvent());
    expect(result).toMatchObject({ outcome: 'applied', trigger: 'cloudmap:DeregisterInstance' });
    expect(await targetsOf()).not.toContain('10.0.1.2:8080');
  });

  it('the wait is bounded: an operation still pending at the deadline is reported, not waited for', async () => {
    cloudMap().setOperationDelay(60_000);
    await registerInstance(sync.world.clients, sync.mesh.ingressServiceId, 'ingress-3', '10.0.1.3');
    const operationId = (lastCloudTrailEvent().detail as { responseElements: { operationId: string } }).responseElements
      .operationId;
    const outcome = await waitForOperation(sync.world.clients.cloudMapReads, operationId, { timeoutMs: 300 });
    expect(outcome).toMatchObject({ status: 'unknown', reason: expect.stringMatching(/^still (SUBMITTED|PENDING)/) });
  });
});
