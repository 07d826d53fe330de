import { afterAll, expect } from 'vitest';
import { findLeaks } from './secrets.js';

// Every byte the code under test writes to stdout or stderr (Powertools' logger, console, child output echoed) is
// scanned; a file whose output leaks a private key or a known secret fails. Tests that must print a secret on
// purpose do not exist.
const leaks: string[] = [];

function scan(chunk: unknown): void {
  const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
  if (!text) return;
  leaks.push(...findLeaks(text));
}

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    scan(chunk);
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    for (const arg of args) scan(typeof arg === 'string' ? arg : safeStringify(arg));
    original(...args);
  };
}

function safeStringify(value: unknown): string {
  try {
    return value instanceof Error ? `${value.message} ${value.stack ?? ''}` : (JSON.stringify(value) ?? '');
  } catch {
    return String(value);
  }
}

afterAll(() => {
  expect(leaks, 'secret material reached a log line').toEqual([]);
});
