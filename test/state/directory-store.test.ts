import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyKongState } from '../../shared/kong/entities.js';
import { directoryStateStore, stateStoreFromConfig } from '../../shared/state/index.js';
import { stateStoreContract } from './contract.js';

const folders: string[] = [];
async function freshFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'meshgate-state-'));
  folders.push(folder);
  return folder;
}
afterEach(async () => {
  await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
});

describe('directory state store', () => {
  // Both instances of one test share the folder, so "keeps instances apart" is a real check.
  let folder: string;
  beforeEach(async () => {
    folder = await freshFolder();
  });
  stateStoreContract(async (instance, retention) => directoryStateStore(folder, instance, retention));

  it('lays files out per instance', async () => {
    const store = stateStoreFromConfig(
      { MESHGATE_STATE_DIR: folder, MESHGATE_INSTANCE: 'prod', SNAPSHOT_BUCKET: undefined },
      undefined as never,
    );
    const id = await store.save(emptyKongState(), { trigger: 'schedule' });
    await store.setFreeze({ reason: 'x', by: 'y' });
    expect((await readdir(join(folder, 'prod'))).sort()).toEqual(['freeze.json', 'snapshots']);
    expect(await readdir(join(folder, 'prod', 'snapshots'))).toEqual([`${id}.json`]);
  });
});
