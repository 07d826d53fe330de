import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyKongState } from '../../shared/kong/entities.js';
import { directoryStateStore } from '../../shared/state/index.js';

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** Every file and folder under `folder`, with its permission bits. */
async function modes(folder: string): Promise<{ path: string; mode: number; dir: boolean }[]> {
  const result: { path: string; mode: number; dir: boolean }[] = [];
  for (const name of await readdir(folder)) {
    const path = join(folder, name);
    const info = await stat(path);
    result.push({ path, mode: info.mode & 0o777, dir: info.isDirectory() });
    if (info.isDirectory()) result.push(...(await modes(path)));
  }
  return result;
}

describe.skipIf(process.platform === 'win32')('state directory permissions', () => {
  it('creates folders 0700 and files 0600, whatever the umask allows', async () => {
    root = await mkdtemp(join(tmpdir(), 'meshgate-perm-'));
    const store = directoryStateStore(join(root, 'state'), 'prod');
    await store.save(emptyKongState(), { trigger: 'schedule' });
    await store.setFreeze({ reason: 'x', by: 'y' });
    await store.recordRun({
      kind: 'sync',
      trigger: 'schedule',
      outcome: 'applied',
      startedAt: new Date().toISOString(),
      durationMs: 1,
    });

    const entries = await modes(join(root, 'state'));
    expect(entries.some((entry) => !entry.dir)).toBe(true);
    for (const entry of entries)
      expect({ path: entry.path, mode: entry.mode.toString(8) }).toEqual({
        path: entry.path,
        mode: entry.dir ? '700' : '600',
      });
  });
});
