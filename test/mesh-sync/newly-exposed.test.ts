/**
 * The first registration of a Cloud Map service exposed since the last sync (its CreateService or TagResource event
 * not delivered, or not yet): the scoped run the RegisterInstance event triggers creates everything the service
 * feeds (service, route, plugins, upstream, target), so it is routable at once rather than at the next drift repair.
 */
import { CreateServiceCommand, GetServiceCommand } from '@aws-sdk/client-servicediscovery';
import { describe, expect, it } from 'vitest';
import { names, ownedView, registerInstance, scheduledEvent, useSyncWorld } from './world.js';

const sync = useSyncWorld({ mesh: 'synced' });

function lastCloudTrailEvent() {
  const event = sync.world.aws.cloudTrail.at(-1);
  if (!event) throw new Error('the AWS double published no CloudTrail event');
  return event;
}

/** A Cloud Map service exposed with a route and JWT auth, created behind meshgate's back (no event delivered). */
async function exposeReviews(): Promise<string> {
  const { Service: search } = await sync.world.clients.serviceDiscovery.send(
    new GetServiceCommand({ Id: sync.mesh.searchServiceId }),
  );
  const { Service } = await sync.world.clients.serviceDiscovery.send(
    new CreateServiceCommand({
      Name: 'reviews',
      NamespaceId: search?.NamespaceId,
      Tags: [
        { Key: 'meshgate:expose', Value: 'true' },
        { Key: 'meshgate:paths', Value: '/reviews' },
        { Key: 'meshgate:auth', Value: 'jwt' },
      ],
    }),
  );
  return Service?.Id ?? '';
}

describe('a newly exposed Cloud Map service, first registration', () => {
  it('the RegisterInstance event creates its service, route, plugins, upstream and target in that run', async () => {
    const serviceId = await exposeReviews();
    await registerInstance(sync.world.clients, serviceId, 'reviews-1', '10.0.3.1');

    const result = await sync.world.invoke(lastCloudTrailEvent());

    expect(result).toMatchObject({ outcome: 'applied', trigger: 'cloudmap:RegisterInstance' });
    const view = await ownedView(sync.world.kong);
    expect(names(view.services)).toContain('reviews.shop.local');
    expect(names(view.upstreams)).toContain('reviews.shop.local');
    expect(view.targets.map((target) => target.target)).toContain('10.0.3.1:8080');
    const service = view.services.find((entity) => entity.name === 'reviews.shop.local');
    const routes = view.routes.filter((route) => (route.service as { id: string }).id === service?.id);
    expect(routes.map((route) => route.paths)).toEqual([['/reviews']]);
    const plugins = view.plugins.filter((plugin) => (plugin.service as { id: string } | null)?.id === service?.id);
    expect(names(plugins).sort()).toContain('jwt');

    // Exactly what a full sync makes of it: the drift repair that follows has nothing to do.
    expect(await sync.world.invoke(scheduledEvent())).toMatchObject({ outcome: 'no-changes' });
  });

  it('a later registration of the same service reads and writes only its upstream and targets', async () => {
    const serviceId = await exposeReviews();
    await registerInstance(sync.world.clients, serviceId, 'reviews-1', '10.0.3.1');
    await sync.world.invoke(lastCloudTrailEvent());

    await registerInstance(sync.world.clients, serviceId, 'reviews-2', '10.0.3.2');
    sync.world.kong.requests.clear();
    expect(await sync.world.invoke(lastCloudTrailEvent())).toMatchObject({ outcome: 'applied' });
    expect(sync.world.kong.requests.count()).toBeLessThanOrEqual(4);
  });
});
