import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CommandError, OperatorCommandSchema, parseCommand } from '../../shared/commands/index.js';
import { MeshSyncEventSchema } from '../../shared/events/incoming.js';

const sample = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8'));

describe('operator commands', () => {
  it.each([
    ['rollback-sync-previous.json', { action: 'rollback-sync', to: 'previous', freeze: true, by: 'operator' }],
    ['rollback-sync-no-freeze.json', { action: 'rollback-sync', to: 'previous', freeze: false, by: 'operator' }],
    ['rollback-key.json', { action: 'rollback-key', consumer: 'alice', by: 'operator' }],
    ['rollback-freeze.json', { action: 'freeze', reason: 'incident INC-1234: bad gateway route', by: 'operator' }],
    ['rollback-resume.json', { action: 'resume', by: 'operator' }],
    ['manual-sync.json', { action: 'sync', dryRun: true, reason: 'operator check' }],
  ])('events/%s parses with defaults filled', (file, expected) => {
    expect(parseCommand(sample(file))).toEqual(expected);
  });

  it('accepts a snapshot id and the read-only commands', () => {
    expect(parseCommand({ action: 'rollback-sync', to: '20261128T051922.123Z-3f9a1c' })).toMatchObject({
      to: '20261128T051922.123Z-3f9a1c',
    });
    expect(parseCommand({ action: 'status' })).toEqual({ action: 'status' });
    expect(parseCommand({ action: 'snapshots-list' })).toEqual({ action: 'snapshots-list' });
  });

  it("meshSync's direct invoke is the union's sync command", () => {
    const invoke = { action: 'sync', dryRun: true, reason: 'cli:plan' };
    expect(MeshSyncEventSchema.parse(invoke)).toEqual(OperatorCommandSchema.parse(invoke));
  });

  it.each([
    [
      { action: 'undo' },
      `action: expected action 'sync', 'rollback-sync', 'rollback-key', 'freeze', 'resume', 'status', 'snapshots-list', 'ping' (got "undo")`,
    ],
    [{ action: 'rollback-sync', to: 'yesterday' }, `to: expected 'previous' or a snapshot id (got "yesterday")`],
    [{ action: 'rollback-sync' }, `to: expected 'previous' or a snapshot id (missing)`],
    [
      { action: 'rollback-sync', to: 'previous', freeze: 'no' },
      'freeze: Invalid input: expected boolean, received string (got "no")',
    ],
    [{ action: 'rollback-key' }, 'consumer: expected a consumer name (missing)'],
    [
      { action: 'rollback-key', consumr: 'alice' },
      'consumer: expected a consumer name (missing); consumr: not a field of this action (got "alice")',
    ],
    [{ action: 'freeze', reason: '' }, 'reason: expected a reason (got "")'],
    // An older release's rollback payload runs neither a rollback nor, its `to` ignored, a sync.
    [{ action: 'sync', to: 'previous' }, 'to: not a field of this action (got "previous")'],
    [
      { action: 'key', consumer: 'alice' },
      `action: expected action 'sync', 'rollback-sync', 'rollback-key', 'freeze', 'resume', 'status', 'snapshots-list', 'ping' (got "key")`,
    ],
  ])('refuses %j naming the field and its value', (payload, message) => {
    const parse = () => parseCommand(payload);
    expect(parse).toThrow(CommandError);
    expect(parse).toThrow(`invalid operator command: ${message}`);
  });
});
