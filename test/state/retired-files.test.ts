import { execFile } from 'node:child_process';
import { linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryBackend } from '../../shared/state/dir.js';

const run = promisify(execFile);
/** Longer than the rest a replaced version takes before it is written into again (100 ms). */
const RESTED_MS = 250;

const folders: string[] = [];
function freshFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'meshgate-retired-'));
  folders.push(folder);
  return folder;
}
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const inode = (path: string) => statSync(path).ino;

describe('directory store: replaced versions are written into again instead of creating files', () => {
  it('a replaced version that has rested becomes a later write’s file; one that has not, does not', async () => {
    const folder = freshFolder();
    const backend = new DirectoryBackend(folder);
    const key = join(folder, 'i/doc.json');
    let etag = (await backend.createIfAbsent('i/doc.json', '{"version":1}')) as string;
    const first = inode(key);
    etag = (await backend.replaceIfMatch('i/doc.json', '{"version":2}', etag)) as string;
    // Kept, not released: the first version's file is linked under the store's .retired folder.
    expect(readdirSync(join(folder, '.retired')).map((name) => inode(join(folder, '.retired', name)))).toEqual([first]);
    // Too fresh to be written into: a reader may still be reading it.
    etag = (await backend.replaceIfMatch('i/doc.json', '{"version":3}', etag)) as string;
    expect(inode(key)).not.toBe(first);
    await sleep(RESTED_MS);
    await backend.replaceIfMatch('i/doc.json', '{"version":4}', etag);
    expect(inode(key)).toBe(first);
    expect(readFileSync(key, 'utf8')).toBe('{"version":4}');
    expect(await backend.read('i/doc.json')).toBe('{"version":4}');
  });

  it('plain writes and removals keep and reuse versions too, and the whole new content replaces the old', async () => {
    const folder = freshFolder();
    const backend = new DirectoryBackend(folder);
    await backend.write('i/a.json', JSON.stringify({ long: 'x'.repeat(5000) }));
    const long = inode(join(folder, 'i/a.json'));
    await backend.remove('i/a.json');
    await sleep(RESTED_MS);
    // Shorter than the file it reuses: nothing of the old content may remain.
    await backend.write('i/b.json', '{"short":true}');
    expect(inode(join(folder, 'i/b.json'))).toBe(long);
    expect(await backend.read('i/b.json')).toBe('{"short":true}');
    expect(await backend.keys('i/')).toEqual(['i/b.json']);
  });

  it('a version with another name besides the kept one (another writer may use it) is never written into', async () => {
    const folder = freshFolder();
    const backend = new DirectoryBackend(folder);
    const etag = (await backend.createIfAbsent('i/doc.json', '{"version":1}')) as string;
    await backend.replaceIfMatch('i/doc.json', '{"version":2}', etag);
    const [kept] = readdirSync(join(folder, '.retired'));
    // As if another process had kept the same version (or a writer had died holding it as its lock).
    linkSync(join(folder, '.retired', kept as string), join(folder, 'elsewhere'));
    await sleep(RESTED_MS);
    await backend.write('i/other.json', '{"other":true}');
    expect(readFileSync(join(folder, 'elsewhere'), 'utf8')).toBe('{"version":1}');
    expect(await backend.read('i/other.json')).toBe('{"other":true}');
  });

  it('the versions a process kept are removed when it exits; those a dead process left are swept after an hour', async () => {
    const folder = freshFolder();
    const retired = join(folder, '.retired');
    const script = join(folder, 'writer.mts');
    writeFileSync(
      script,
      `const { DirectoryBackend } = await import(${JSON.stringify(resolve('shared/state/dir.ts'))});
const backend = new DirectoryBackend(${JSON.stringify(folder)});
for (let i = 0; i < 5; i++) await backend.write('i/doc.json', String(i));
console.log(JSON.stringify((await import('node:fs')).readdirSync(${JSON.stringify(retired)}).length));`,
    );
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
    expect(Number(stdout.trim())).toBe(4);
    expect(readdirSync(retired)).toEqual([]);

    // Left by a process that died: one an hour old goes, a recent one stays (its process may be alive).
    writeFileSync(join(retired, '1-old'), 'x');
    writeFileSync(join(retired, '1-recent'), 'x');
    const hourAgo = (Date.now() - 3_700_000) / 1000;
    utimesSync(join(retired, '1-old'), hourAgo, hourAgo);
    const backend = new DirectoryBackend(folder);
    await backend.write('i/doc.json', 'a');
    await backend.write('i/doc.json', 'b');
    await sleep(RESTED_MS);
    expect(readdirSync(retired).filter((name) => name.startsWith('1-'))).toEqual(['1-recent']);
  });
});
