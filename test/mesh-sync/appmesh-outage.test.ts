import { describe, expect, it } from 'vitest';
import type { FaultRule } from '../../local/faults.js';
import { ownedView as ownedViewOf, registerInstance, scheduledEvent, useSyncWorld } from './world.js';

const sync = useSyncWorld({ mesh: 'synced' });

/**
 * App Mesh reached end of support on 2026-09-30: its API may stop answering while MESH_NAMES still names a mesh.
 * Whatever the error class, what the mesh produced stays in Kong, the outage is reported once in the run, and
 * Cloud Map (the default source) still syncs in the same run.
 */

const ownedView = () => ownedViewOf(sync.world.kong);
const lastAudit = () => sync.world.audit().at(-1)?.detail ?? {};
const error = (status: number, code: string): Partial<FaultRule> => ({ status, body: { code, message: code } });

describe('an App Mesh API that stops answering', () => {
  for (const [label, fault] of [
    ['no answer (connection dropped)', { drop: true }],
    ['500 InternalServerErrorException', error(500, 'InternalServerErrorException')],
    ['503 ServiceUnavailableException', error(503, 'ServiceUnavailableException')],
    ['429 TooManyRequestsException (after the retries)', error(429, 'TooManyRequestsException')],
    ['403 AccessDeniedException', error(403, 'AccessDeniedException')],
    ['400 UnrecognizedClientException', error(400, 'UnrecognizedClientException')],
  ] as const) {
    it(`${label}: removes nothing it had produced, is reported once, and Cloud Map still syncs`, async () => {
      const before = await ownedView();
      sync.world.aws.faults.inject({ path: /^\/v20190125\//, times: Number.POSITIVE_INFINITY, ...fault });
      await registerInstance(sync.world.clients, sync.mesh.searchServiceId, 'search-2', '10.0.2.2');

      const result = await sync.world.invoke(scheduledEvent());

      expect(result).toMatchObject({ outcome: 'applied', kept: 1 });
      const after = await ownedView();
      const { targets: targetsBefore, ...restBefore } = before;
      const { targets: targetsAfter, ...restAfter } = after;
      expect(restAfter).toEqual(restBefore);
      expect(targetsAfter).toEqual(expect.arrayContaining(targetsBefore));
      expect(targetsAfter.map((target) => target.target)).toContain('10.0.2.2:8080');
      const audit = lastAudit();
      expect(audit.kept).toEqual(['appmesh:shop']);
      const appMeshErrors = (audit.errors as string[]).filter((text) => text.includes('App Mesh'));
      expect(appMeshErrors).toHaveLength(1);
      expect(appMeshErrors[0]).toMatch(/^mesh\/shop: /);
    });
  }
});
