import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type TranslateInput, translate } from '../../shared/translate/index.js';

/**
 * Golden cases: `test/golden/<case>/input.json` (a TranslateInput) → `expected.json` ({state, failures}).
 * `UPDATE_GOLDEN=1 npx vitest run test/translate` rewrites the expectations; review the diff before committing.
 */
const GOLDEN_DIR = join(import.meta.dirname, '..', 'golden');
const update = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(GOLDEN_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

const asJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

describe('golden translation', () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases)('%s', (name) => {
    const input = JSON.parse(readFileSync(join(GOLDEN_DIR, name, 'input.json'), 'utf8')) as TranslateInput;
    const actual = asJson(translate(input));
    const expectedPath = join(GOLDEN_DIR, name, 'expected.json');
    if (update || !existsSync(expectedPath)) {
      if (!update) throw new Error(`${expectedPath} is missing; run with UPDATE_GOLDEN=1 to create it`);
      writeFileSync(expectedPath, actual);
    }
    expect(actual).toBe(readFileSync(expectedPath, 'utf8'));
  });
});
