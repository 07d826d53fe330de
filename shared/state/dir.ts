import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ObjectBackend } from './backed-store.js';

/** A `.lock` file older than this was left by a process that died inside a conditional write; it is broken. */
const STALE_LOCK_MS = 10_000;
const LOCK_POLL_MS = 5;

/**
 * Objects as files under a directory (MESHGATE_STATE_DIR); writes go through a temp file and a rename. Conditional
 * writes have S3's semantics: the ETag is the content's hash, and compare-and-write happens while holding a
 * `<key>.lock` file created exclusively (`wx`), so two processes sharing the folder cannot both win.
 */
export class DirectoryBackend implements ObjectBackend {
  /** Folders this backend has made: a write into one needs no `mkdir` (every state-store write would repeat it). */
  private readonly folders = new Set<string>();
  /** The last version of each key read with its ETag (see readVersioned). */
  private readonly versions = new Map<string, { body: string; etag: string; version: string }>();

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
    // Unique per write: two writers in one process must not share a temp file.
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await this.inFolder(path, () => writeFile(temporary, body, { encoding: 'utf8', mode: 0o600 }));
    await rename(temporary, path);
  }

  async remove(key: string): Promise<void> {
    await rm(join(this.location, key), { force: true });
  }

  /**
   * Every write replaces the file by a rename, so a file whose inode, size and modification time are those this
   * backend last read holds the same bytes: the content and its hash are reused (the public-key document is read
   * by every rotation step, and grows with the consumers).
   */
  async readVersioned(key: string): Promise<{ body: string; etag: string } | undefined> {
    const path = join(this.location, key);
    const info = await stat(path, { bigint: true }).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (!info) return undefined;
    const version = `${info.ino}:${info.size}:${info.mtimeNs}`;
    const known = this.versions.get(key);
    if (known?.version === version) return known;
    const body = await this.read(key);
    if (body === undefined) return undefined;
    const read = { body, etag: etagOf(body), version };
    // Only a version read whole is kept: one renamed in between the stat and the read is read again next time.
    if (Buffer.byteLength(body) === Number(info.size)) this.versions.set(key, read);
    return read;
  }

  createIfAbsent(key: string, body: string): Promise<string | undefined> {
    return this.locked(key, async () => {
      if ((await this.read(key)) !== undefined) return undefined;
      await this.write(key, body);
      return etagOf(body);
    });
  }

  replaceIfMatch(key: string, body: string, etag: string): Promise<string | undefined> {
    return this.locked(key, async () => {
      const current = await this.read(key);
      if (current === undefined || etagOf(current) !== etag) return undefined;
      await this.write(key, body);
      return etagOf(body);
    });
  }

  removeIfMatch(key: string, etag: string): Promise<boolean> {
    return this.locked(key, async () => {
      const current = await this.read(key);
      if (current === undefined || etagOf(current) !== etag) return false;
      await this.remove(key);
      return true;
    });
  }

  /** Runs `action` while holding the key's lock file. */
  private async locked<T>(key: string, action: () => Promise<T>): Promise<T> {
    const lock = `${join(this.location, key)}.lock`;
    for (;;) {
      try {
        const handle = await this.inFolder(lock, () => open(lock, 'wx'));
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = await stat(lock).then(
          (info) => Date.now() - info.mtimeMs,
          () => 0,
        );
        if (age > STALE_LOCK_MS) await rm(lock, { force: true });
        else await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      }
    }
    try {
      return await action();
    } finally {
      await rm(lock, { force: true });
    }
  }

  /**
   * Creates `path` with `create`, making its folder first unless this backend made it before (every state-store
   * write would repeat the `mkdir`); a folder removed since is made again.
   */
  private async inFolder<T>(path: string, create: () => Promise<T>): Promise<T> {
    const folder = dirname(path);
    if (this.folders.has(folder)) {
      try {
        return await create();
      } catch (error) {
        if (!isNotFound(error)) throw error;
        this.folders.delete(folder);
      }
    }
    // Snapshots and run history describe the gateway's security config: owner-only, as ~/.ssh would be.
    await mkdir(folder, { recursive: true, mode: 0o700 });
    this.folders.add(folder);
    return create();
  }

  async keys(prefix: string): Promise<string[]> {
    const folder = prefix.endsWith('/') ? prefix.slice(0, -1) : dirname(prefix);
    try {
      const names = await readdir(join(this.location, folder));
      return names
        .map((name) => `${folder}/${name}`)
        .filter((key) => key.startsWith(prefix) && !key.endsWith('.tmp') && !key.endsWith('.lock'))
        .sort();
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }
}

function etagOf(body: string): string {
  return `"${createHash('md5').update(body, 'utf8').digest('hex')}"`;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
