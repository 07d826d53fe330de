import { createHash, randomBytes } from 'node:crypto';
import {
  type BigIntStats,
  closeSync,
  fstatSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectBackend, ObjectBody } from './backed-store.js';
import { RetiredFiles } from './retired-files.js';

/** A `.lock` file older than this was left by a process that died inside a conditional write; it is broken. */
const STALE_LOCK_MS = 10_000;
const LOCK_POLL_MS = 5;

/**
 * Objects as files under a directory (MESHGATE_STATE_DIR); every write lands by a rename, so a reader sees the old
 * file or the new one, never part of one. Conditional writes have S3's semantics: the ETag is the content's hash, and
 * compare-and-write happens while holding a `<key>.lock` file created exclusively (`wx`), so two processes sharing
 * the folder cannot both win. The lock file doubles as the temp file: a conditional write costs two metadata
 * operations (create the lock, rename it onto the key), each ≈ 0.35 ms on ext4, instead of four. A process that dies
 * inside one leaves the key as it was and a lock file that is broken once stale.
 *
 * File calls are synchronous: state files are small and local, so each call takes microseconds, far less than the
 * thread-pool round trip of an asynchronous one (a rotation step makes dozens); only the wait for another process's
 * lock yields. File creations and releases, which cost far more on ext4, are mostly avoided: a replaced version is
 * kept and becomes a later write's file (retired-files.ts).
 */
export class DirectoryBackend implements ObjectBackend {
  /** Folders this backend has made: a write into one needs no `mkdir` (every state-store write would repeat it). */
  private readonly folders = new Set<string>();
  /** The last version of each key read with its ETag (see readVersioned). */
  private readonly versions = new Map<string, { body: string; etag: string; version: string }>();

  private readonly staleLockMs: number;
  private readonly retired: RetiredFiles;

  constructor(
    readonly location: string,
    /** Tests shorten it to see a stale lock broken. */
    options: { staleLockMs?: number } = {},
  ) {
    this.staleLockMs = options.staleLockMs ?? STALE_LOCK_MS;
    this.retired = new RetiredFiles(join(location, '.retired'));
  }

  async read(key: string): Promise<string | undefined> {
    return this.readNow(key);
  }

  async write(key: string, body: ObjectBody): Promise<void> {
    this.writeNow(key, body);
  }

  async remove(key: string): Promise<void> {
    const path = join(this.location, key);
    this.retired.replace(path, () => rmSync(path, { force: true }));
  }

  /**
   * Every write replaces the file by a rename, so a file whose inode, size and modification time are those this
   * backend last read or wrote holds the same bytes: the content and its hash are reused (the public-key document is
   * read by every rotation step, and grows with the consumers).
   */
  async readVersioned(key: string): Promise<{ body: string; etag: string } | undefined> {
    return this.readVersionedNow(key);
  }

  createIfAbsent(key: string, body: ObjectBody): Promise<string | undefined> {
    const bytes = bytesOf(body);
    return this.lockedWithNewFile(key, bytes.length, (lock) => {
      if (statSync(join(this.location, key), { throwIfNoEntry: false })) return undefined;
      return this.publish(key, lock, body, bytes);
    });
  }

  replaceIfMatch(key: string, body: ObjectBody, etag: string): Promise<string | undefined> {
    const bytes = bytesOf(body);
    return this.lockedWithNewFile(key, bytes.length, (lock) => {
      if (this.readVersionedNow(key)?.etag !== etag) return undefined;
      return this.publish(key, lock, body, bytes);
    });
  }

  /**
   * The lock is a hard link to the key's file (taken as exclusively as a new file, without allocating an inode: on
   * this machine's ext4 a file creation costs up to ≈ 1 ms of CPU, a link ≈ 0.02 ms); a key that does not exist has
   * nothing to remove.
   */
  removeIfMatch(key: string, etag: string): Promise<boolean> {
    const path = join(this.location, key);
    return this.locked(
      key,
      (lockPath) => {
        try {
          linkSync(path, lockPath);
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
        return { path: lockPath, ino: statSync(lockPath, { bigint: true }).ino, published: false };
      },
      (lock) => {
        if (!lock || this.readVersionedNow(key)?.etag !== etag) return false;
        this.retired.replace(path, () => rmSync(path, { force: true }));
        this.versions.delete(key);
        return true;
      },
    );
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

  /**
   * The key's content, read from a file that stayed the key's version throughout the read: a file is rewritten only
   * long after it was replaced (retired-files.ts), but a reader stalled that long reads again.
   */
  private readNow(key: string): string | undefined {
    const path = join(this.location, key);
    for (;;) {
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
      try {
        const opened = fstatSync(fd, { bigint: true });
        const body = readFileSync(fd, 'utf8');
        const now = statSync(path, { bigint: true, throwIfNoEntry: false });
        if (now && versionOf(now) === versionOf(opened)) return body;
      } finally {
        closeSync(fd);
      }
    }
  }

  private writeNow(key: string, body: ObjectBody): void {
    const path = join(this.location, key);
    // Unique per write: two writers in one process must not share a temp file.
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const bytes = bytesOf(body);
    const fd = this.inFolder(path, () => this.newFile(temporary, bytes.length));
    try {
      writeWhole(fd, bytes, fstatSync(fd).size);
    } finally {
      closeSync(fd);
    }
    this.retired.replace(path, () => renameSync(temporary, path));
  }

  /**
   * A new file at `path` for `bytes`, created exclusively (EEXIST when one is there): a kept version when one has
   * rested.
   */
  private newFile(path: string, bytes: number): number {
    return this.retired.reuseAt(path, bytes) ?? openSync(path, 'wx', 0o600);
  }

  private readVersionedNow(key: string): { body: string; etag: string } | undefined {
    const info = statSync(join(this.location, key), { bigint: true, throwIfNoEntry: false });
    if (!info) return undefined;
    const version = versionOf(info);
    const known = this.versions.get(key);
    if (known?.version === version) return known;
    const body = this.readNow(key);
    if (body === undefined) return undefined;
    const read = { body, etag: etagOf(body), version };
    // Only a version read whole is kept: one renamed in between the stat and the read is read again next time.
    if (Buffer.byteLength(body) === Number(info.size)) this.versions.set(key, read);
    return read;
  }

  /**
   * Makes `body` the key's content from inside its lock: the lock file, created exclusively and still unpublished,
   * is the temp file, so one rename both publishes the whole body and releases the lock (readers never see a
   * partial file: they read the key, never the lock). The new ETag, or undefined when the lock was broken as stale
   * meanwhile (this writer stalled past STALE_LOCK_MS): then another writer owns the lock file and nothing is written.
   */
  private publish(
    key: string,
    lock: HeldLock & { fd: number; size: number },
    body: ObjectBody,
    bytes: Buffer,
  ): string | undefined {
    const path = join(this.location, key);
    writeWhole(lock.fd, bytes, lock.size);
    if (!owns(lock)) return undefined;
    this.retired.replace(path, () => renameSync(lock.path, path));
    lock.published = true;
    const etag = etagOf(bytes);
    // Remembered as written: the next conditional write or read of this key neither re-reads nor re-hashes it.
    const info = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (info && info.ino === lock.ino) this.versions.set(key, writtenVersion(body, bytes, etag, versionOf(info)));
    return etag;
  }

  /** Runs `action` while holding the key's lock as a new file, created exclusively (`wx`) and open for `publish`. */
  private lockedWithNewFile<T>(
    key: string,
    bytes: number,
    action: (lock: HeldLock & { fd: number; size: number }) => T,
  ): Promise<T> {
    return this.locked(
      key,
      (path) => {
        // 0600: the lock file becomes the object when it is published.
        const fd = this.inFolder(path, () => this.newFile(path, bytes));
        const info = fstatSync(fd, { bigint: true });
        return { path, fd, ino: info.ino, size: Number(info.size), published: false };
      },
      action,
    );
  }

  /**
   * Takes `<key>.lock` with `take` (which fails with EEXIST while another holds it, and may find nothing to lock),
   * runs `action`, and lets go of the lock. Between taking the lock and the end of the action nothing yields, so
   * within one process no two actions overlap and only another process's lock is waited for; a lock older than the
   * stale age is broken (by ctime: a link and a creation both set it).
   */
  private async locked<L extends HeldLock | undefined, T>(
    key: string,
    take: (path: string) => L,
    action: (lock: L) => T,
  ): Promise<T> {
    const path = `${join(this.location, key)}.lock`;
    let lock: L;
    for (;;) {
      try {
        lock = take(path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        // Gone since (released): the next attempt takes it.
        const held = statSync(path, { throwIfNoEntry: false });
        const age = held ? Date.now() - held.ctimeMs : 0;
        if (age > this.staleLockMs) rmSync(path, { force: true });
        else await sleep(LOCK_POLL_MS);
      }
    }
    try {
      return action(lock);
    } finally {
      if (lock) this.unlock(lock);
    }
  }

  /** Lets go of a lock that was not published; one broken as stale meanwhile belongs to another writer now. */
  private unlock(lock: HeldLock): void {
    if (lock.fd !== undefined) closeSync(lock.fd);
    if (!lock.published && owns(lock)) rmSync(lock.path, { force: true });
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

/** A lock file this backend holds, and whether a publish renamed it onto the key. */
interface HeldLock {
  path: string;
  ino: bigint;
  /** Open while the lock is a new file that may be published. */
  fd?: number;
  published: boolean;
}

/** Still this writer's lock file, not one another writer made after breaking ours as stale. */
function owns(lock: HeldLock): boolean {
  return statSync(lock.path, { bigint: true, throwIfNoEntry: false })?.ino === lock.ino;
}

/**
 * Inode, size, modification and change times: a key replaced by a rename never keeps all four, even when its file
 * is a kept version rewritten (retired-files.ts: a second or more later).
 */
function versionOf(info: BigIntStats): string {
  return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

/**
 * Makes `bytes` the whole content of the open file of `size` bytes (new, or a kept version being rewritten). Truncated
 * only when it was longer: on ext4 even a truncation to the same size costs a block-map walk.
 */
function writeWhole(fd: number, bytes: Buffer, size: number): void {
  writeSync(fd, bytes, 0, bytes.length, 0);
  if (size > bytes.length) ftruncateSync(fd, bytes.length);
}

/**
 * The content's SHA-1: a change detector for conditional writes, not a security property (the files are the
 * store's own, 0600). 2.5× faster than MD5 where the CPU has SHA instructions, never slower, and the public-key
 * document (≈ 1.5 KB a consumer) is hashed at every write.
 */
function etagOf(body: string | Buffer): string {
  return `"${createHash('sha1').update(body).digest('hex')}"`;
}

function bytesOf(body: ObjectBody): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/**
 * A version this backend wrote, as `readVersioned` answers it. Written as bytes, its text is decoded only if read:
 * the state store keeps what it wrote parsed, by ETag, so it seldom is.
 */
function writtenVersion(
  body: ObjectBody,
  bytes: Buffer,
  etag: string,
  version: string,
): { body: string; etag: string; version: string } {
  if (typeof body === 'string') return { body, etag, version };
  let text: string | undefined;
  return {
    get body() {
      text ??= bytes.toString('utf8');
      return text;
    },
    etag,
    version,
  };
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
