import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ObjectBackend } from './backed-store.js';

/** Objects as files under a directory (MESHGATE_STATE_DIR); writes go through a temp file and a rename. */
export class DirectoryBackend implements ObjectBackend {
  constructor(readonly location: string) {}

  async read(key: string): Promise<string | undefined> {
    try {
      return await readFile(join(this.location, key), 'utf8');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async write(key: string, body: string): Promise<void> {
    const path = join(this.location, key);
    // Snapshots and run history describe the gateway's security config: owner-only, as ~/.ssh would be.
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, body, { encoding: 'utf8', mode: 0o600 });
    await rename(temporary, path);
  }

  async remove(key: string): Promise<void> {
    await rm(join(this.location, key), { force: true });
  }

  async keys(prefix: string): Promise<string[]> {
    const folder = prefix.endsWith('/') ? prefix.slice(0, -1) : dirname(prefix);
    try {
      const names = await readdir(join(this.location, folder));
      return names
        .map((name) => `${folder}/${name}`)
        .filter((key) => key.startsWith(prefix) && !key.endsWith('.tmp'))
        .sort();
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
