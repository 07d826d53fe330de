import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectBackend } from './backed-store.js';

/** A `.lock` file older than this was left by a process that died inside a conditional write; it is broken. */
const STALE_LOCK_MS = 10_000;
const LOCK_POLL_MS = 5;

/**
 * Objects as files under a directory (MESHGATE_STATE_DIR); writes go through a temp file and a rename. Conditional
 * writes have S3's semantics: the ETag is the content's hash, and compare-and-write happens while holding a
 * `<key>.lock` file created exclusively (`wx`), so two processes sharing the folder cannot both win.
 *
 * File calls are synchronous: state files are small and local, so each call takes microseconds, far less than the
 * thread-pool round trip of an asynchronous one (a rotation step makes dozens); only the wait for another process's
 * lock yields.
 */
export class DirectoryBackend implements ObjectBackend {
  /** Folders this backend has made: a write into one needs no `mkdir` (every state-store write would repeat it). */
  private readonly folders = new Set<string>();
  /** The last version of each key read with its ETag (see readVersioned). */
  private readonly versions = new Map<string, { body: string; etag: string; version: string }>();

  constructor(readonly location: string) {}

  async read(key: string): Promise<string | undefined> {
    return this.readNow(key);
  }

  async write(key: string, body: string): Promise<void> {
    this.writeNow(key, body);
  }

  async remove(key: string): Promise<void> {
    rmSync(join(this.location, key), { force: true });
  }

  /**
   * Every write replaces the file by a rename, so a file whose inode, size and modification time are those this
   * backend last read holds the same bytes: the content and its hash are reused (the public-key document is read
   * by every rotation step, and grows with the consumers).
   */
  async readVersioned(key: string): Promise<{ body: string; etag: string } | undefined> {
    const info = statSync(join(this.location, key), { bigint: true, throwIfNoEntry: false });
    if (!info) return undefined;
    const version = `${info.ino}:${info.size}:${info.mtimeNs}`;
    const known = this.versions.get(key);
    if (known?.version === version) return known;
    const body = this.readNow(key);
    if (body === undefined) return undefined;
    const read = { body, etag: etagOf(body), version };
    // Only a version read whole is kept: one renamed in between the stat and the read is read again next time.
    if (Buffer.byteLength(body) === Number(info.size)) this.versions.set(key, read);
    return read;
  }

  createIfAbsent(key: string, body: string): Promise<string | undefined> {
    return this.locked(key, () => {
      if (this.readNow(key) !== undefined) return undefined;
      this.writeNow(key, body);
      return etagOf(body);
    });
  }

  replaceIfMatch(key: string, body: string, etag: string): Promise<string | undefined> {
    return this.locked(key, () => {
      const current = this.readNow(key);
      if (current === undefined || etagOf(current) !== etag) return undefined;
      this.writeNow(key, body);
      return etagOf(body);
    });
  }

  removeIfMatch(key: string, etag: string): Promise<boolean> {
    return this.locked(key, () => {
      const current = this.readNow(key);
      if (current === undefined || etagOf(current) !== etag) return false;
      rmSync(join(this.location, key), { force: true });
      return true;
    });
  }

  async keys(prefix: string): Promise<string[]> {
    const folder = prefix.endsWith('/') ? prefix.slice(0, -1) : dirname(prefix);
    try {
      return readdirSync(join(this.location, folder))
        .map((name) => `${folder}/${name}`)
        .filter((key) => key.startsWith(prefix) && !key.endsWith('.tmp') && !key.endsWith('.lock'))
        .sort();
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  private readNow(key: string): string | undefined {
    try {
      return readFileSync(join(this.location, key), 'utf8');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private writeNow(key: string, body: string): void {
    const path = join(this.location, key);
    // Unique per write: two writers in one process must not share a temp file.
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    this.inFolder(path, () => writeFileSync(temporary, body, { encoding: 'utf8', mode: 0o600 }));
    renameSync(temporary, path);
  }

  /**
   * Runs `action` while holding the key's lock file. Within one process the action runs without yielding, so only
   * another process can hold the lock; its holder is waited for.
   */
  private async locked<T>(key: string, action: () => T): Promise<T> {
    const lock = `${join(this.location, key)}.lock`;
    for (;;) {
      try {
        closeSync(this.inFolder(lock, () => openSync(lock, 'wx')));
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        // Gone since (released): the next attempt takes it.
        const held = statSync(lock, { throwIfNoEntry: false });
        const age = held ? Date.now() - held.mtimeMs : 0;
        if (age > STALE_LOCK_MS) rmSync(lock, { force: true });
        else await sleep(LOCK_POLL_MS);
      }
    }
    try {
      return action();
    } finally {
      rmSync(lock, { force: true });
    }
  }

  /**
   * Creates `path` with `create`, making its folder first unless this backend made it before (every state-store
   * write would repeat the `mkdir`); a folder removed since is made again.
   */
  private inFolder<T>(path: string, create: () => T): T {
    const folder = dirname(path);
    if (this.folders.has(folder)) {
      try {
        return create();
      } catch (error) {
        if (!isNotFound(error)) throw error;
        this.folders.delete(folder);
      }
    }
    // Snapshots and run history describe the gateway's security config: owner-only, as ~/.ssh would be.
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    this.folders.add(folder);
    return create();
  }
}

function etagOf(body: string): string {
  return `"${createHash('md5').update(body, 'utf8').digest('hex')}"`;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
