import { readFileSync } from 'node:fs';

/** Reads a reference file (test/fixtures/reference/<path>): AWS sample events, Kong's OpenAPI specs. */
export function readReference(path: string): string {
  return readFileSync(new URL(`../fixtures/reference/${path}`, import.meta.url), 'utf8');
}
