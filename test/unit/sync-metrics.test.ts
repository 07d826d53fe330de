import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import { recordSyncMetrics } from '../../shared/lambda/sync-metrics.js';
import type { MeshSyncResult } from '../../shared/mesh-sync/pipeline.js';
import { plan } from '../../shared/reconcile/index.js';

const key = (createdAt: string, stages: string[]) => ({
  kid: createdAt,
  alg: 'ES256' as const,
  publicKeyPem: 'PUBLIC',
  createdAt,
  versionId: createdAt,
  stages,
});

describe('recordSyncMetrics', () => {
  it('charts duration, operations, failure and the oldest current key age', () => {
    const metrics = new Metrics({ namespace: 'meshgate', serviceName: 'meshgate' });
    const addMetric = vi.spyOn(metrics, 'addMetric');
    const result: MeshSyncResult = {
      report: {
        outcome: 'rolled-back',
        trigger: 'schedule',
        plan: plan([]),
        completed: [],
        failed: [],
        rolledBack: [],
        rollbackFailed: [],
        kept: [],
        held: [],
        conflicts: [],
        durationMs: 120,
      },
      failures: [{ object: 'appmesh:shop/gw/bad', reason: 'bad path' }],
      kept: [],
      consumers: [
        { username: 'alice', secretArn: 'a', keys: [key('2026-11-27T00:00:00Z', ['AWSCURRENT'])] },
        // The previous key is older, but only current keys count.
        {
          username: 'bob',
          secretArn: 'b',
          keys: [key('2026-11-28T00:00:00Z', ['AWSCURRENT']), key('2026-10-01T00:00:00Z', ['AWSPREVIOUS'])],
        },
      ],
      frozen: false,
    };
    recordSyncMetrics(metrics, result, new Date('2026-11-28T12:00:00Z'));
    const recorded = Object.fromEntries(addMetric.mock.calls.map(([name, , value]) => [name, value]));
    expect(recorded).toEqual({
      SyncDuration: 120,
      OperationsApplied: 0,
      ObjectsLeftOut: 1,
      ObjectsKept: 0,
      SyncFailed: 1,
      OldestKeyAge: 36 * 3600,
    });
  });
});
