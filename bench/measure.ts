import { execFile } from 'node:child_process';
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
