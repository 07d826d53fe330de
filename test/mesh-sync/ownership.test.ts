import { afterEach, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from '../support/secrets.js';
import { adminView, deleteRoute, names, ownedView as ownedViewOf, scheduledEvent, useSyncWorld } from './world.js';

const sync = useSyncWorld({ checkUnowned: false });

/**
 * Only what is owned: a create never overwrites an entity that is not meshgate's, a clash with a foreign entity is
 * that object's conflict (everything else applies), and an owned parent with foreign children is not deleted.
 */

afterEach(() => {
  // Each test makes its own foreign entities (so the suite's unowned baseline differs); meshgate's writes must
  // still never touch one.
  expect(sync.world.kong.violations).toEqual([]);
});

const ownedView = () => ownedViewOf(sync.world.kong);
const lastAudit = () => sync.world.audit().at(-1)?.detail ?? {};

/** A write by another team, straight to the Admin API; not meshgate's, so not a guard violation. */
async function foreignWrite(method: string, path: string, body: Record<string, unknown>) {
  const response = await fetch(`${sync.world.kong.url}${path}`, {
    method,
    headers: { 'Kong-Admin-Token': TEST_ADMIN_TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  sync.world.kong.violations.length = 0;
  return (await response.json()) as Record<string, unknown>;
}

const entity = async (collection: keyof Awaited<ReturnType<typeof adminView>>, id: unknown) =>
  (await adminView(sync.world.kong))[collection].find((item) => item.id === id);

describe('ownership on create and delete', () => {
  it("a create never overwrites a service that is no longer meshgate's; the rest applies", async () => {
    await sync.world.invoke(scheduledEvent());
    const search = (await ownedView()).services.find((service) => service.name === 'search.shop.local')!;
    // Another team took the service over: meshgate's tags replaced by theirs.
    await foreignWrite('PATCH', `/services/${search.id}`, { tags: ['team:search'], read_timeout: 5000 });
    const taken = await entity('services', search.id);
    await deleteRoute(sync.world.clients, 'catalog');

    const result = await sync.world.invoke(scheduledEvent());

    expect(result).toMatchObject({ outcome: 'applied' });
    expect(await entity('services', search.id)).toEqual(taken);
    expect(names((await ownedView()).routes)).not.toContain('shop.edge.catalog');
    expect(lastAudit().conflicts).toEqual([
      expect.stringMatching(/^service search\.shop\.local: cannot create service .* exists without meshgate's tags/),
    ]);
  });

  it('a foreign service with a clashing name is a conflict for that object only, not a rollback', async () => {
    const foreign = await foreignWrite('POST', '/services', {
      name: 'shop.edge.orders',
      host: 'orders.legacy',
      tags: ['team:orders'],
    });

    const result = await sync.world.invoke(scheduledEvent());

    expect(result).toMatchObject({ outcome: 'applied' });
    const owned = await ownedView();
    // meshgate-jwks: the edge JWKS service and route (JWKS_PATH's default).
    const synced = ['meshgate-jwks', 'search.shop.local', 'shop.edge.catalog', 'shop.rpc.payments'];
    expect(names(owned.services)).toEqual(synced);
    expect(names(owned.routes)).toEqual(synced);
    expect(await entity('services', foreign.id)).toMatchObject({ host: 'orders.legacy', tags: ['team:orders'] });
    const conflicts = lastAudit().conflicts as string[];
    expect(conflicts[0]).toMatch(/^service shop\.edge\.orders: cannot create service/);
    // Its route and plugins depend on it: left out with it.
    expect(conflicts.some((line) => line.startsWith('route shop.edge.orders'))).toBe(true);
  });

  it('an owned service with a foreign plugin on it is kept, not deleted with the plugin', async () => {
    await sync.world.invoke(scheduledEvent());
    const catalog = (await ownedView()).services.find((service) => service.name === 'shop.edge.catalog')!;
    const plugin = await foreignWrite('POST', '/plugins', {
      name: 'rate-limiting',
      service: { id: catalog.id },
      config: { minute: 10 },
    });
    await deleteRoute(sync.world.clients, 'catalog');

    const result = await sync.world.invoke(scheduledEvent());

    expect(result).toMatchObject({ outcome: 'applied' });
    expect(await entity('plugins', plugin.id)).toBeDefined();
    expect(await entity('services', catalog.id)).toBeDefined();
    expect(names((await ownedView()).routes)).not.toContain('shop.edge.catalog');
    expect(lastAudit().held).toEqual([expect.stringMatching(/^service shop\.edge\.catalog: plugin rate-limiting /)]);
  });
});
