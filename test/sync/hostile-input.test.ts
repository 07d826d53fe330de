import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  buildMesh,
  type Mesh,
  names,
  ownedView as ownedViewOf,
  registerInstance,
  type SyncWorld,
  scheduledEvent,
  startWorld,
} from './world.js';

/** Input an attacker controls (instance addresses, tags, reasons) never turns into something Kong should not do. */

let world: SyncWorld;
let mesh: Mesh;

beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.close();
});
beforeEach(async () => {
  await world.reset();
  mesh = await buildMesh(world.clients);
});
afterEach(async () => {
  await world.expectUnownedUntouched();
});

const ownedView = () => ownedViewOf(world.kong);
const lastAudit = () => world.audit().at(-1)?.detail ?? {};

describe('target address policy', () => {
  it('refuses metadata, loopback, unspecified and public addresses as targets, reporting each', async () => {
    const hostile = {
      'imds-1': '169.254.169.254',
      'loop-1': '127.0.0.1',
      'zero-1': '0.0.0.0',
      'public-1': '8.8.8.8',
    };
    for (const [id, ip] of Object.entries(hostile)) await registerInstance(world.clients, mesh.searchServiceId, id, ip);

    const result = await world.invoke(scheduledEvent());

    expect(result).toMatchObject({ outcome: 'applied', leftOut: 4 });
    const targets = names((await ownedView()).targets, 'target');
    for (const ip of Object.values(hostile)) expect(targets).not.toContain(`${ip}:8080`);
    expect(targets).toContain('10.0.2.1:8080');
    const leftOut = lastAudit().leftOut as string[];
    expect(leftOut.sort()).toEqual(
      Object.keys(hostile)
        .map((id) => `cloudmap:shop.local/search/instances/${id}`)
        .sort(),
    );
  });
});
