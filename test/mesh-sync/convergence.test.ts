import { describe, expect, it } from 'vitest';
import type { EventBridgeEvent } from '../../local/aws/server.js';
import {
  buildMesh,
  deleteRoute,
  deregisterInstance,
  moveOrdersRoute,
  ownedView,
  registerInstance,
  scheduledEvent,
  useSyncWorld,
} from './world.js';

const sync = useSyncWorld({ mesh: 'kept' });

/** How EventBridge might hand over the CloudTrail events of a sequence of mesh writes. */
const DELIVERIES: Record<
  string,
  (events: EventBridgeEvent[], invoke: (event: unknown) => Promise<unknown>) => Promise<void>
> = {
  'each event twice, in order': async (events, invoke) => {
    for (const event of events) {
      await invoke(event);
      await invoke(event);
    }
  },
  'in reverse order': async (events, invoke) => {
    for (const event of [...events].reverse()) await invoke(event);
  },
  'all at once, each twice, concurrently': async (events, invoke) => {
    await Promise.all([...events, ...events].map((event) => invoke(event)));
  },
};

describe('duplicate, reordered and concurrent events', () => {
  it.each(Object.keys(DELIVERIES))('%s: Kong ends equal to one clean full sync', async (delivery) => {
    await sync.world.reset();
    const mesh = await buildMesh(sync.world.clients, sync.world.app.store);
    await sync.world.invoke(scheduledEvent());

    // A sequence of writes of every kind meshSync reacts to: scoped (Cloud Map) and full (App Mesh) runs,
    // creates, updates and deletes.
    const first = sync.world.aws.cloudTrail.length;
    await registerInstance(sync.world.clients, mesh.ingressServiceId, 'ingress-3', '10.0.1.3');
    await moveOrdersRoute(sync.world.clients, '/v2/orders');
    await deregisterInstance(sync.world.clients, mesh.ingressServiceId, 'ingress-1');
    await deleteRoute(sync.world.clients, 'catalog');
    await registerInstance(sync.world.clients, mesh.searchServiceId, 'search-2', '10.0.2.2');
    const events = sync.world.aws.cloudTrail.slice(first);
    expect(events.map((event) => event.detail.eventName)).toEqual([
      'RegisterInstance',
      'UpdateGatewayRoute',
      'DeregisterInstance',
      'DeleteGatewayRoute',
      'RegisterInstance',
    ]);

    const results: unknown[] = [];
    await DELIVERIES[delivery]?.(events, async (event) => results.push(await sync.world.invoke(event)));
    expect(results).toHaveLength(delivery === 'in reverse order' ? 5 : 10);
    const delivered = await ownedView(sync.world.kong);

    await sync.world.resetKong();
    await sync.world.invoke(scheduledEvent());
    const clean = await ownedView(sync.world.kong);
    expect(delivered).toEqual(clean);
    expect(clean.routes.map((route) => [route.name, route.paths])).toEqual(
      expect.arrayContaining([['shop.edge.orders', ['/v2/orders']]]),
    );
    expect(clean.routes.map((route) => route.name)).not.toContain('shop.edge.catalog');
    expect(clean.targets.map((target) => target.target).sort()).toEqual([
      '10.0.1.2:8080',
      '10.0.1.3:8080',
      '10.0.2.1:8080',
      '10.0.2.2:8080',
      'rpc.shop.internal:9090',
    ]);
  });
});
