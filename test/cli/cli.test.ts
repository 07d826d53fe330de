import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../cli/main.js';
import { invokeRemote } from '../../cli/remote.js';
import { DemoMesh } from '../../local/demo/mesh.js';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { createAwsClients } from '../../shared/aws/clients.js';

let stack: LocalStack;
let mesh: DemoMesh;

/** Runs the CLI as `meshgate …` would, capturing what it prints. */
async function meshgate(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return meshgateWith(stack.env, argv);
}

async function meshgateWith(env: Record<string, string>, argv: string[]) {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    process.exitCode = undefined;
    const code = await main(argv, env);
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
}

/** Kong's jwt plugin check, configured as meshgate configures it (the `kid` claim selects the credential). */
const accepted = (token: string) => stack.kong.verifyJwt(token, { keyClaimName: 'kid' });

beforeAll(async () => {
  stack = await startLocalStack({ logLevel: 'SILENT' });
  mesh = new DemoMesh(createAwsClients(stack.env));
  await mesh.createGatewayDiscovery([{ id: 'gw-1', ipv4: '10.0.0.1' }]);
  await mesh.createMesh([{ name: 'orders' }]);
  await stack.bus.idle();
});

afterAll(async () => {
  await stack?.close();
});

describe('meshgate CLI', () => {
  it('prints usage for an unknown command and names what is missing', async () => {
    const unknown = await meshgate('deploy');
    expect(unknown.code).toBe(2);
    expect(unknown.out).toContain('Usage:');
    expect(unknown.err).toBe("meshgate: unknown command 'deploy'\n");

    const missing = await meshgate('rollback', 'sync');
    expect(missing).toMatchObject({ code: 2, err: "meshgate: --to: expected 'previous' or a snapshot id (missing)\n" });
  });

  it('names a bad configuration variable', async () => {
    const result = await meshgateWith({ ...stack.env, KONG_ADMIN_URL: 'http://10.1.2.3:8001' }, ['status']);
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      "KONG_ADMIN_URL='http://10.1.2.3:8001': plain http to non-loopback host '10.1.2.3' is refused",
    );
  });

  it('freezes sync, plans the pending change as text, JSON and a decK file, then resumes and converges', async () => {
    expect((await meshgate('freeze', '--reason', 'cli test')).out).toMatch(/automatic sync frozen since .* cli test/);
    await mesh.createService('payments');
    await mesh.createRoute('payments');
    await stack.bus.idle();

    const text = await meshgate('plan');
    expect(text.out).toContain('creating service shop.edge.payments');
    expect(text.out).toContain('creating route shop.edge.payments');

    const deckFile = join(mkdtempSync(join(tmpdir(), 'meshgate-cli-')), 'kong.yaml');
    const json = await meshgate('plan', '--json', '--deck', deckFile);
    const planned = JSON.parse(json.out) as { summary: { creating: number; total: number } };
    expect(planned.summary.creating).toBeGreaterThanOrEqual(2);
    const deck = parse(readFileSync(deckFile, 'utf8')) as { services: { name: string }[] };
    expect(deck.services.map((service) => service.name)).toEqual(
      expect.arrayContaining(['shop.edge.orders', 'shop.edge.payments']),
    );

    const status = JSON.parse((await meshgate('status', '--json')).out) as {
      freeze?: { reason: string };
      drift: { summary: { total: number } };
    };
    expect(status.freeze?.reason).toBe('cli test');
    expect(status.drift.summary.total).toBe(planned.summary.total);

    const resumed = await meshgate('resume');
    expect(resumed.out).toContain('automatic sync resumed');
    expect(resumed.out).toMatch(/sync applied \(resume\)/);
    expect((await meshgate('plan', '--json')).out).toContain('"total": 0');
  });

  it('rolls Kong back to the previous snapshot and lists snapshots', async () => {
    const rolledBack = await meshgate('rollback', 'sync', '--to', 'previous', '--no-freeze');
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.out).toContain('deleting route shop.edge.payments');
    expect(rolledBack.out).toContain('automatic sync stays active');
    expect((await meshgate('plan')).out).toContain('creating route shop.edge.payments');

    const listed = await meshgate('snapshots', 'list');
    expect(listed.out.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(2);
    expect(listed.out).toMatch(/^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6} {2}rollback:/m);
  });

  it('adds a consumer, syncs it, mints a token Kong accepts, rotates and rolls the key back', async () => {
    expect((await meshgate('consumer', 'add', 'carol')).out).toMatch(/^consumer carol: key carol-\S+ in /);
    expect((await meshgate('sync')).out).toContain('creating consumer carol');
    const first = (await meshgate('token', '--consumer', 'carol')).out.trim();
    expect(accepted(first)).toMatchObject({ ok: true, consumer: { username: 'carol' } });

    expect((await meshgate('rotate', '--consumer', 'carol')).out).toMatch(
      /^rotated carol: new key version \S+ is AWSCURRENT/,
    );
    const second = (await meshgate('token', '--consumer', 'carol')).out.trim();
    expect(accepted(second).ok).toBe(true);
    expect(accepted(first).ok).toBe(true); // the old key is in its grace period

    const rolledBack = await meshgate('rollback', 'key', '--consumer', 'carol');
    expect(rolledBack.out).toMatch(/carol: key \S+ is current again; \S+ is revoked and gone from Kong/);
    expect(accepted(second).ok).toBe(false);
    expect(accepted(first).ok).toBe(true);

    // The schedule's path: keys published, then only due rotations started (carol was just rotated: not due).
    const due = await meshgate('rotate', '--due');
    expect(due.out).toMatch(/public keys of \d+ consumer\(s\) published/);
    expect(due.out).toMatch(/\d+ rotation\(s\) started, [1-9]\d* not due/);
    expect(due.out).not.toContain('rotated ');
  });

  it('runs status and snapshots through the deployed rollback function with --remote', async () => {
    const status = JSON.parse((await meshgate('status', '--remote', '--json')).out) as { instance: string };
    expect(status.instance).toBe(stack.env.MESHGATE_INSTANCE);
    const snapshots = JSON.parse((await meshgate('snapshots', 'list', '--remote', '--json')).out) as unknown[];
    expect(snapshots.length).toBeGreaterThan(0);
  });
});

describe('one operator command, three paths', () => {
  it('gives the same result dispatched here and in the rollback function (--remote)', async () => {
    await stack.bus.idle();
    for (const argv of [['status'], ['snapshots', 'list'], ['sync', '--dry-run']]) {
      const local = await meshgate(...argv, '--json');
      const remote = await meshgate(...argv, '--json', '--remote');
      expect({ argv, code: remote.code, err: remote.err }).toEqual({ argv, code: 0, err: '' });
      expect(JSON.parse(remote.out)).toEqual(JSON.parse(local.out));
      // Text too: the CLI renders the one result the same way wherever it was computed.
      expect((await meshgate(...argv, '--remote')).out).toBe((await meshgate(...argv)).out);
    }
  });

  it('sends the same JSON the function parses: an invoke by hand gives what the CLI gives', async () => {
    const fromCli = JSON.parse((await meshgate('snapshots', 'list', '--json')).out) as unknown;
    const lambda = createAwsClients(stack.env).lambda;
    const byHand = await invokeRemote(lambda, 'meshgate-local-rollback', { action: 'snapshots-list' });
    expect(byHand).toEqual(fromCli);
  });

  it('names the bad field and its value locally, with --remote (before invoking), and in the function', async () => {
    const message = `--to: expected 'previous' or a snapshot id (got "yesterday")`;
    const local = await meshgate('rollback', 'sync', '--to', 'yesterday');
    expect(local).toMatchObject({ code: 2, err: `meshgate: ${message}\n` });

    const invoked = stack.bus.invocations.length;
    const remote = await meshgate('rollback', 'sync', '--to', 'yesterday', '--remote');
    expect(remote).toMatchObject({ code: 2, err: `meshgate: ${message}\n` });
    expect(stack.bus.invocations.length).toBe(invoked);

    const lambda = createAwsClients(stack.env).lambda;
    await expect(
      invokeRemote(lambda, 'meshgate-local-rollback', { action: 'rollback-sync', to: 'yesterday' }),
    ).rejects.toThrow(`invalid operator command: to: expected 'previous' or a snapshot id (got "yesterday")`);
  });
});

describe('meshgate command line', () => {
  it('refuses an unknown option naming it', async () => {
    const result = await meshgateWith(process.env as Record<string, string>, ['status', '--verbose']);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/^meshgate: Unknown option '--verbose'/);
  });

  it('needs the account to name the rotation function', async () => {
    const { AWS_ACCOUNT_ID: _account, ...env } = stack.env;
    const result = await meshgateWith(env, ['consumer', 'add', 'dave']);
    expect(result).toMatchObject({ code: 2, err: expect.stringContaining('set AWS_ACCOUNT_ID') });
  });
});
