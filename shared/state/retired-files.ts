import {
  closeSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readdir,
  stat,
  statSync,
  unlink,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';

/** How long a replaced version rests before it is written into again: far longer than a read of it takes. */
const REST_MS = 100;
/** Replaced versions one store keeps (enough for hundreds of writes a second to find rested ones); more are unlinked. */
const KEPT = 64;
/** How much longer than a write a reused file may be: cutting off more would release blocks. */
const TRUNCATION_SLACK = 8_192;
/** Versions another process kept and left behind longer than this (it died) are unlinked. */
const ABANDONED_MS = 3_600_000;

/** Every store's kept versions, unlinked when the process exits so that nothing is left behind. */
const keptByStore = new Set<RetiredFiles>();
let exitHookSet = false;

/**
 * Replaced versions of a directory store's files, kept under `<store>/.retired/` and written into again as the
 * files of later writes.
 *
 * Why: on ext4 a file's creation and a file's release (its inode and blocks) each cost 0.1–1 ms of kernel CPU on
 * this project's machines, while a link or a rename costs about 0.03 ms, and a rotation step makes several writes.
 * A write that replaces a key would create one file and release another; instead the version it replaces is linked
 * here first and, once it has rested REST_MS, becomes a later write's file: linked (exclusively) where that write
 * wants its new file, rewritten in place, renamed onto its key. Only new keys (run records, snapshots) still create.
 *
 * Safe for readers: a file is rewritten only after it stopped being any key's version REST_MS ago, and the store's
 * reads check that the file they read stayed the key's version throughout (DirectoryBackend.readNow).
 */
export class RetiredFiles {
  /** Oldest first. */
  private readonly kept: { path: string; since: number; size: number }[] = [];
  private made = 0;
  private swept = false;
  private folderMade = false;

  constructor(private readonly folder: string) {}

  /**
   * Runs `replace` (a rename onto `path`, or its removal) keeping the version it replaces, if any, for reuse: linked
   * here before, so the replacement releases nothing. If `replace` fails the version is still the key's and is not
   * kept.
   */
  replace(path: string, replace: () => void): void {
    const name = this.link(path);
    try {
      replace();
    } catch (error) {
      if (name) unlinkSync(name);
      throw error;
    }
    if (!name) return;
    this.kept.push({ path: name, since: Date.now(), size: statSync(name).size });
    if (this.kept.length > KEPT) unlinkLater((this.kept.shift() as { path: string }).path);
    this.watch();
  }

  /**
   * Links a rested version at `at`, exclusively (EEXIST when `at` exists, as `open(at, 'wx')` would), and opens it
   * for rewriting with `bytes`; undefined when none has rested long enough or it is gone (then the caller creates a
   * file). The smallest one that holds `bytes` is taken: its blocks are allocated already, so the rename onto the
   * key does not make ext4 flush the new content first (auto_da_alloc), and little is truncated.
   */
  reuseAt(at: string, bytes: number): number | undefined {
    const index = this.fittest(bytes);
    const chosen = this.kept[index];
    if (!chosen) return undefined;
    try {
      linkSync(chosen.path, at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // Gone (the store folder was removed, or an operator cleared it): let it go. Otherwise `at`'s folder is missing.
      if (!stillThere(chosen.path)) {
        this.kept.splice(index, 1);
        return undefined;
      }
      throw error;
    }
    this.kept.splice(index, 1);
    // Still linked at `at`: removing this name releases nothing.
    unlinkSync(chosen.path);
    const fd = openSync(at, 'r+');
    // Its only name must now be `at`. Another (a stale lock of a writer that died on it, another process that kept
    // the same version) means someone else may still use the file: it is left to them.
    if (fstatSync(fd).nlink === 1) return fd;
    closeSync(fd);
    unlinkSync(at);
    return undefined;
  }

  /**
   * The index of the smallest rested version of at least `bytes`, else of the largest smaller one; -1 if none, or if
   * the only ones that hold `bytes` are so much larger that cutting them down would release blocks (as costly as a
   * new file).
   */
  private fittest(bytes: number): number {
    const rested = Date.now() - REST_MS;
    let best = -1;
    for (let index = 0; index < this.kept.length; index++) {
      const { since, size } = this.kept[index] as { since: number; size: number };
      if (since > rested) break;
      const current = this.kept[best];
      const better =
        !current ||
        (size >= bytes ? current.size < bytes || size < current.size : current.size < bytes && size > current.size);
      if (better) best = index;
    }
    const size = this.kept[best]?.size ?? 0;
    return size > 2 * bytes + TRUNCATION_SLACK ? -1 : best;
  }

  /** Links the file at `path` under a new name here; undefined when there is no file. */
  private link(path: string): string | undefined {
    if (!this.folderMade) {
      mkdirSync(this.folder, { recursive: true, mode: 0o700 });
      this.folderMade = true;
    }
    const name = join(this.folder, `${process.pid}-${Date.now().toString(36)}-${this.made++}`);
    try {
      linkSync(path, name);
      return name;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // Nothing to keep (a new key), or the folder was removed since: made again for the next one.
      if (!statSync(this.folder, { throwIfNoEntry: false })) this.folderMade = false;
      return undefined;
    }
  }

  /** Registers the exit clean-up, and once per store sweeps away versions a process that died left behind. */
  private watch(): void {
    keptByStore.add(this);
    if (!exitHookSet) {
      exitHookSet = true;
      process.once('exit', () => {
        for (const store of keptByStore) for (const { path } of store.kept) unlinkQuietly(path);
      });
    }
    if (this.swept) return;
    this.swept = true;
    const mine = `${process.pid}-`;
    readdir(this.folder, (error, names) => {
      if (error) return;
      for (const name of names) {
        if (name.startsWith(mine)) continue;
        const path = join(this.folder, name);
        // Modified long ago: left by a process that died. (A live process's version of a key unchanged that long
        // only goes unused: a kept version found gone is let go.)
        stat(path, (failed, info) => {
          if (!failed && Date.now() - info.mtimeMs > ABANDONED_MS) unlinkLater(path);
        });
      }
    });
  }
}

function stillThere(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false }) !== undefined;
}

/** Unlinked on the thread pool: a release is the expensive part. */
function unlinkLater(path: string): void {
  unlink(path, () => undefined);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}
