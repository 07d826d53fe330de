import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryBackend } from '../../shared/state/dir.js';
import { directoryStateStore, withLease } from '../../shared/state/index.js';

const run = promisify(execFile);
const backendModule = resolve('shared/state/dir.ts');
const folders: string[] = [];
function freshFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'meshgate-dir-'));
  folders.push(folder);
  return folder;
}
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** Runs `body` (an ES module's text) in its own node process, with the directory backend importable. */
async function inAnotherProcess(folder: string, name: string, body: string): Promise<string> {
  const script = join(folder, `${name}.mts`);
  writeFileSync(script, `const { DirectoryBackend } = await import(${JSON.stringify(backendModule)});\n${body}`);
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' }).catch(
    (error: { stdout?: string; code?: number }) => ({ stdout: `${error.stdout ?? ''}exit ${error.code}` }),
  );
  return stdout;
}

describe('directory backend conditional writes', () => {
  it('a writer that dies between taking the lock and publishing leaves the old object readable and a stale lock', async () => {
    const folder = freshFolder();
    const backend = new DirectoryBackend(folder, { staleLockMs: 200 });
    const etag = await backend.createIfAbsent('i/doc.json', '{"version":1}');
    // The other process dies where the rename would publish its write.
    const output = await inAnotherProcess(
      folder,
      'dies',
      `import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
fs.renameSync = () => process.exit(7);
syncBuiltinESMExports();
await new DirectoryBackend(${JSON.stringify(folder)}).replaceIfMatch('i/doc.json', '{"version":2}', ${JSON.stringify(etag)});`,
    );
    expect(output).toContain('exit 7');
    expect(existsSync(join(folder, 'i/doc.json.lock'))).toBe(true);
    expect(await backend.read('i/doc.json')).toBe('{"version":1}');
    expect(await backend.keys('i/')).toEqual(['i/doc.json']);
    // Once stale the lock is broken, and the version the dead writer compared against is still the current one.
    expect(await backend.replaceIfMatch('i/doc.json', '{"version":3}', etag as string)).toBeDefined();
    expect(await backend.read('i/doc.json')).toBe('{"version":3}');
    expect(readdirSync(join(folder, 'i'))).toEqual(['doc.json']);
  });

  it('two processes racing conditional writes on one key: every version has exactly one winner', async () => {
    const folder = freshFolder();
    await new DirectoryBackend(folder).createIfAbsent('i/counter.json', '{"count":0}');
    // Each process increments by read, then replace-if-match, retrying when it lost; a version with two winners
    // would lose an increment, and a partial file would fail to parse.
    const incrementer = `const backend = new DirectoryBackend(${JSON.stringify(folder)});
let won = 0;
while (won < 40) {
  const read = await backend.readVersioned('i/counter.json');
  const next = JSON.stringify({ count: JSON.parse(read.body).count + 1, pad: 'x'.repeat(4000) });
  if (await backend.replaceIfMatch('i/counter.json', next, read.etag)) won += 1;
}
console.log(won);`;
    const outputs = await Promise.all([
      inAnotherProcess(folder, 'a', incrementer),
      inAnotherProcess(folder, 'b', incrementer),
    ]);
    expect(outputs.map((output) => output.trim())).toEqual(['40', '40']);
    const final = JSON.parse((await new DirectoryBackend(folder).read('i/counter.json')) as string);
    expect(final.count).toBe(80);
  }, 30_000);

  it('a conditional remove of a missing key, or of a changed one, removes nothing and leaves no lock', async () => {
    const folder = freshFolder();
    const backend = new DirectoryBackend(folder);
    expect(await backend.removeIfMatch('i/lease.json', '"x"')).toBe(false);
    const etag = await backend.createIfAbsent('i/lease.json', 'a');
    expect(await backend.removeIfMatch('i/lease.json', '"other"')).toBe(false);
    expect(readdirSync(join(folder, 'i'))).toEqual(['lease.json']);
    expect(await backend.removeIfMatch('i/lease.json', etag as string)).toBe(true);
    expect(readdirSync(join(folder, 'i'))).toEqual([]);
  });
});

describe('lease waiters in one process', () => {
  it('are woken by a release in this process, not left to their poll timer', async () => {
    const store = directoryStateStore(freshFolder(), 'prod');
    let release!: () => void;
    const holding = new Promise<void>((resolve) => {
      release = resolve;
    });
    const order: string[] = [];
    const first = withLease(store, { purpose: 'a', onBusy: 'throw', onPending: 'rerun' }, async () => {
      await holding;
      order.push('a');
    });
    // Polls every minute: without the wake-up it would sleep past this test's timeout.
    const second = withLease(
      store,
      { purpose: 'b', onBusy: 'throw', onPending: 'rerun', pollMs: 60_000, waitMs: 120_000 },
      async () => {
        order.push('b');
      },
    );
    // Long enough for the second to have found the lease taken and gone to sleep.
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['a', 'b']);
  }, 10_000);
});
