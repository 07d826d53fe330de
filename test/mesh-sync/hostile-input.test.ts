import { RegisterInstanceCommand } from '@aws-sdk/client-servicediscovery';
import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../cli/render.js';
import { names, ownedView as ownedViewOf, registerInstance, scheduledEvent, useSyncWorld } from './world.js';

const sync = useSyncWorld();

/** Input an attacker controls (instance addresses, tags, reasons) never turns into something Kong should not do. */

const ownedView = () => ownedViewOf(sync.world.kong);
const lastAudit = () => sync.world.audit().at(-1)?.detail ?? {};

describe('target address policy', () => {
  it('refuses metadata, loopback, unspecified and public addresses as targets, reporting each', async () => {
    const hostile = {
      'imds-1': '169.254.169.254',
      'loop-1': '127.0.0.1',
      'zero-1': '0.0.0.0',
      'public-1': '8.8.8.8',
    };
    for (const [id, ip] of Object.entries(hostile))
      await registerInstance(sync.world.clients, sync.mesh.searchServiceId, id, ip);

    const result = await sync.world.invoke(scheduledEvent());

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

describe('bounded output', () => {
  it("hostile attribute values cannot grow the audit event past EventBridge's entry limit", async () => {
    // 300 instances, each with a 1,000-character weight that fails translation and is quoted in its failure.
    const filler = `9${'\u001b[31m'.repeat(100)}${'w'.repeat(500)}`;
    for (let index = 0; index < 300; index += 1) {
      await sync.world.clients.serviceDiscovery.send(
        new RegisterInstanceCommand({
          ServiceId: sync.mesh.searchServiceId,
          InstanceId: `bad-${index}`,
          Attributes: { AWS_INSTANCE_IPV4: '10.9.0.1', AWS_INSTANCE_PORT: '8080', 'meshgate:weight': filler },
        }),
      );
    }

    const result = await sync.world.invoke(scheduledEvent());

    expect(result).toMatchObject({ outcome: 'applied', leftOut: 300 });
    const audit = sync.world.audit().at(-1);
    expect(audit?.detailType).toBe('Sync Applied');
    const text = JSON.stringify(audit?.detail);
    expect(Buffer.byteLength(text)).toBeLessThan(256 * 1024);
    expect(text).not.toContain('\u001b');
    expect((audit?.detail.errors as string[] | undefined)?.at(-1)).toMatch(/^… and \d+ more$/);
  });

  it('a manual-sync reason with terminal escapes is recorded and shown escaped', async () => {
    await sync.world.invoke({ action: 'sync', reason: '\u001b[2J\u001b[31mall good\r\nforged line' });

    const [run] = await sync.world.app.store.listRuns(1);
    expect(run?.trigger).toBe('\\x1b[2J\\x1b[31mall good\\x0d\\x0aforged line');
    const shown = renderStatus({
      instance: 'x',
      freeze: { frozen: true, reason: '\u001b]0;pwned\u0007', by: 'ops', since: '2026-12-02T00:00:00Z' },
      runs: run ? [run] : [],
      snapshots: [],
      drift: { error: 'mesh unreadable: \u001b[2K' },
      consumers: [],
    });
    const controls = [...shown].filter((char) => char !== '\n' && (char < ' ' || char === '\u007f'));
    expect(controls).toEqual([]);
    expect(shown).toContain('\\x1b]0;pwned\\x07');
  });
});
