import { readFile, writeFile } from 'node:fs/promises';
import { expect } from 'vitest';

/**
 * Cloud Map ids are random; they are renamed in order of appearance (`srv-1`, `ns-1`, …) so a snapshot of a
 * sorted mesh is stable across runs.
 */
export function stableIds(value: unknown): unknown {
  const names = new Map<string, string>();
  const counters = new Map<string, number>();
  const text = JSON.stringify(value).replace(/\b(srv|ns)-[a-z0-9]{8,}\b/g, (id, prefix: string) => {
    let name = names.get(id);
    if (!name) {
      const next = (counters.get(prefix) ?? 0) + 1;
      counters.set(prefix, next);
      name = `${prefix}-${next}`;
      names.set(id, name);
    }
    return name;
  });
  return JSON.parse(text);
}

/** Compares `value` with `test/sources/golden/<name>.json`; `UPDATE_GOLDEN=1` rewrites the file instead. */
export async function expectGolden(name: string, value: unknown): Promise<void> {
  const file = new URL(`./golden/${name}.json`, import.meta.url);
  const actual = stableIds(value);
  if (process.env.UPDATE_GOLDEN) {
    await writeFile(file, `${JSON.stringify(actual, null, 2)}\n`);
    return;
  }
  const expected = await readFile(file, 'utf8').catch(() => {
    throw new Error(`golden file ${name}.json is missing; run the test with UPDATE_GOLDEN=1 to write it`);
  });
  expect(actual).toEqual(JSON.parse(expected));
}
