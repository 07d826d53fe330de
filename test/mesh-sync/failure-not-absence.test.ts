import {
  CreateGatewayRouteCommand,
  DescribeVirtualServiceCommand,
  TagResourceCommand,
  UpdateGatewayRouteCommand,
} from '@aws-sdk/client-app-mesh';
import { describe, expect, it } from 'vitest';
import { deleteRoute, MESH, names, ownedView as ownedViewOf, scheduledEvent, useSyncWorld } from './world.js';

const sync = useSyncWorld({ mesh: 'synced' });

/**
 * Failure is not absence: a source object that cannot be read or translated keeps the Kong entities it had; only an
 * object confirmed gone (absent from a successful listing) is removed. Everything else in the same run applies.
 */

const ownedView = () => ownedViewOf(sync.world.kong);
const lastAudit = () => sync.world.audit().at(-1)?.detail ?? {};

describe('an object that fails to read or translate keeps what it had in Kong', () => {
  it('a consumer whose public keys cannot be read (no document entry) keeps its consumer and credentials', async () => {
    const before = await ownedView();
    // meshSync reads no secret value (public keys come from the state store's document): the read that fails for
    // one consumer is its document entry.
    await sync.world.app.store.updatePublicKeys((document) => ({
      ...document,
      meshgate: { ...document.meshgate, consumers: {} },
    }));
    // A confirmed removal in the same run still lands.
    await deleteRoute(sync.world.clients, 'catalog');

    const result = await sync.world.invoke(scheduledEvent());

    // The edge JWKS keeps the keys it has too: dropping the consumer's would refuse its tokens inside the mesh.
    expect(result).toMatchObject({ outcome: 'applied', kept: 2, leftOut: 0 });
    const after = await ownedView();
    expect(after.consumers).toEqual(before.consumers);
    expect(after.jwts).toEqual(before.jwts);
    const jwks = (view: typeof before) => view.plugins.filter((plugin) => plugin.name === 'request-termination');
    expect(jwks(after)).toEqual(jwks(before));
    expect(names(after.routes)).not.toContain('shop.edge.catalog');
    expect(lastAudit()).toMatchObject({ kept: ['consumer:checkout', 'jwks:/.well-known/jwks.json'], leftOut: [] });
  });

  it('a typo in a tag (meshgate:auth=JWT) keeps the route, its service and plugins', async () => {
    const before = await ownedView();
    const { virtualService } = await sync.world.clients.appMesh.send(
      new DescribeVirtualServiceCommand({
        meshName: MESH,
        virtualServiceName: 'orders.shop.local',
      }),
    );
    await sync.world.clients.appMesh.send(
      new TagResourceCommand({
        resourceArn: virtualService?.metadata?.arn,
        tags: [{ key: 'meshgate:auth', value: 'JWT' }],
      }),
    );

    const result = await sync.world.invoke(scheduledEvent());

    expect(result).toMatchObject({ outcome: 'no-changes', kept: 1, leftOut: 0 });
    expect(await ownedView()).toEqual(before);
    expect(lastAudit()).toMatchObject({ kept: ['appmesh:shop/edge/orders'] });
    expect(String((lastAudit().errors as string[])[0])).toContain("meshgate:auth='JWT'");
  });

  it('instances that answer 503 after the retries keep their targets; a route deleted meanwhile is removed', async () => {
    const before = await ownedView();
    sync.world.aws.faults.inject({
      match: (request) => request.operation === 'DiscoverInstances',
      status: 503,
      body: { code: 'ServiceUnavailable', message: 'try later' },
      times: Number.POSITIVE_INFINITY,
    });
    await deleteRoute(sync.world.clients, 'payments');

    const result = await sync.world.invoke(scheduledEvent());

    expect(result).toMatchObject({ outcome: 'applied' });
    const after = await ownedView();
    expect(after.targets).toEqual(before.targets);
    expect(names(after.routes)).not.toContain('shop.rpc.payments');
    expect(lastAudit().kept).toEqual(expect.arrayContaining(['appmesh:shop/edge', 'cloudmap:shop.local/search']));
  });

  it("a route regex Kong's router refuses (look-ahead) is left out or kept; the rest of the sync applies", async () => {
    const before = await ownedView();
    const regexRoute = (regex: string) => ({
      httpRoute: {
        match: { path: { regex } },
        action: { target: { virtualService: { virtualServiceName: 'orders.shop.local' } } },
      },
    });
    await sync.world.clients.appMesh.send(
      new CreateGatewayRouteCommand({
        meshName: MESH,
        virtualGatewayName: 'edge',
        gatewayRouteName: 'lookahead',
        spec: regexRoute('/new(?=/v2)'),
      }),
    );
    await sync.world.clients.appMesh.send(
      new UpdateGatewayRouteCommand({
        meshName: MESH,
        virtualGatewayName: 'edge',
        gatewayRouteName: 'orders',
        spec: regexRoute('/orders/(\\d+)/\\1'),
      }),
    );
    await deleteRoute(sync.world.clients, 'catalog');

    const result = await sync.world.invoke(scheduledEvent());

    expect(result).toMatchObject({ outcome: 'applied', kept: 1, leftOut: 1 });
    const after = await ownedView();
    // meshgate-jwks: the edge JWKS route (JWKS_PATH's default).
    expect(names(after.routes)).toEqual([
      'meshgate-jwks',
      'search.shop.local',
      'shop.edge.orders',
      'shop.rpc.payments',
    ]);
    const route = (view: typeof before) => view.routes.find((r) => r.name === 'shop.edge.orders');
    expect(route(after)).toEqual(route(before));
    expect(lastAudit()).toMatchObject({ kept: ['appmesh:shop/edge/orders'], leftOut: ['appmesh:shop/edge/lookahead'] });
  });

  it('a route confirmed gone is removed', async () => {
    await deleteRoute(sync.world.clients, 'orders');

    const result = await sync.world.invoke(scheduledEvent());

    expect(result).toMatchObject({ outcome: 'applied', kept: 0, leftOut: 0 });
    expect(names((await ownedView()).routes)).not.toContain('shop.edge.orders');
  });
});
