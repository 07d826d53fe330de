import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeCommandIssues, RollbackCommandSchema } from '../../shared/rollback/commands.js';

const sample = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8'));

describe('rollback payloads', () => {
  it.each([
    ['rollback-sync-previous.json', { action: 'sync', to: 'previous', freeze: true, by: 'rollback' }],
    ['rollback-sync-no-freeze.json', { action: 'sync', to: 'previous', freeze: false, by: 'rollback' }],
    ['rollback-key.json', { action: 'key', consumer: 'alice', by: 'rollback' }],
    ['rollback-freeze.json', { action: 'freeze', reason: 'incident INC-1234: bad gateway route', by: 'rollback' }],
    ['rollback-resume.json', { action: 'resume', by: 'rollback' }],
  ])('%s parses with defaults filled', (file, expected) => {
    expect(RollbackCommandSchema.parse(sample(file))).toEqual(expected);
  });

  it('accepts a snapshot id', () => {
    const command = RollbackCommandSchema.parse({ action: 'sync', to: '20261128T051922.123Z-3f9a1c' });
    expect(command).toMatchObject({ to: '20261128T051922.123Z-3f9a1c' });
  });

  it.each([
    [
      { action: 'undo' },
      `action: expected action 'sync', 'key', 'freeze', 'resume', 'status', 'snapshots' or 'ping' (got "undo")`,
    ],
    [{ action: 'sync', to: 'yesterday' }, `to: expected 'previous' or a snapshot id (got "yesterday")`],
    [
      { action: 'sync', to: 'previous', freeze: 'no' },
      'freeze: Invalid input: expected boolean, received string (got "no")',
    ],
    [{ action: 'key' }, 'consumer: Invalid input: expected string, received undefined'],
    [{ action: 'freeze', reason: '' }, 'reason: Too small: expected string to have >=1 characters (got "")'],
  ])('refuses %j naming the field', (payload, message) => {
    const result = RollbackCommandSchema.safeParse(payload);
    expect(result.success).toBe(false);
    if (!result.success) expect(describeCommandIssues(payload, result.error)).toBe(message);
  });
});
