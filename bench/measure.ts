import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Wall time of an async call, in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ wallMs: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { wallMs: performance.now() - started, value };
}

/** Runs a command to completion (failing on a non-zero exit); returns its wall time in ms and its output. */
export async function timedCommand(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ wallMs: number; stdout: string }> {
  const { wallMs, value } = await timed(() => run(file, args, { env, maxBuffer: 256 * 1024 * 1024 }));
  return { wallMs, stdout: value.stdout };
}

/**
 * Median µs to create (exclusively), write and close a small file in `folder`, as the directory state store does
 * for each new run record. On one disk it ranges from ≈ 20 µs to over 1 ms depending on where the folder's inodes
 * are allocated and what else writes, so scenarios that create files report it beside their times.
 */
export function fileCreationMicros(folder: string, files = 200): number {
  const probe = mkdtempSync(join(folder, '.create-probe-'));
  const body = Buffer.alloc(400, 0x20);
  const micros: number[] = [];
  try {
    for (let index = 0; index < files; index++) {
      const started = performance.now();
      const fd = openSync(join(probe, String(index)), 'wx', 0o600);
      writeSync(fd, body);
      closeSync(fd);
      micros.push((performance.now() - started) * 1000);
    }
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
  return median(micros);
}
