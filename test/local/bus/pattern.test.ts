import { describe, expect, it } from 'vitest';
import { matchesPattern, PatternError } from '../../../local/bus/pattern.js';

const event = {
  source: 'aws.appmesh',
  'detail-type': 'AWS API Call via CloudTrail',
  resources: ['arn:aws:appmesh:us-east-1:123456789012:mesh/apps', 'arn:aws:appmesh:us-east-1:123456789012:mesh/edge'],
  detail: {
    eventName: 'CreateVirtualNode',
    requestParameters: { meshName: 'apps', spec: { listeners: [{ portMapping: { port: 80, protocol: 'http2' } }] } },
    version: 3,
    tags: ['team-a', 'prod'],
    responseElements: null,
  },
};

describe('matchesPattern', () => {
  it('matches exact values, any of a list, and requires every key', () => {
    expect(matchesPattern({ source: ['aws.appmesh'] }, event)).toBe(true);
    expect(matchesPattern({ source: ['aws.events', 'aws.appmesh'] }, event)).toBe(true);
    expect(matchesPattern({ source: ['aws.appmesh'], 'detail-type': ['Scheduled Event'] }, event)).toBe(false);
    expect(matchesPattern({ source: ['AWS.APPMESH'] }, event)).toBe(false);
    expect(matchesPattern({ missing: ['x'] }, event)).toBe(false);
  });

  it('matches numbers, booleans and null exactly', () => {
    expect(matchesPattern({ detail: { version: [3] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { version: ['3'] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { responseElements: [null] } }, event)).toBe(true);
    expect(matchesPattern({ flag: [true] }, { flag: true })).toBe(true);
  });

  it('descends into nested detail and into arrays of objects', () => {
    expect(matchesPattern({ detail: { requestParameters: { meshName: ['apps'] } } }, event)).toBe(true);
    expect(matchesPattern({ detail: { requestParameters: { meshName: ['edge'] } } }, event)).toBe(false);
    const deep = { detail: { requestParameters: { spec: { listeners: { portMapping: { protocol: ['http2'] } } } } } };
    expect(matchesPattern(deep, event)).toBe(true);
    expect(matchesPattern({ detail: { eventName: { nested: ['x'] } } }, event)).toBe(false);
  });

  it('matches an array in the event when any element matches', () => {
    expect(matchesPattern({ detail: { tags: ['prod'] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { tags: ['staging'] } }, event)).toBe(false);
    expect(matchesPattern({ resources: [{ suffix: 'mesh/edge' }] }, event)).toBe(true);
  });

  it('supports prefix, suffix and equals-ignore-case on strings only', () => {
    expect(matchesPattern({ detail: { eventName: [{ prefix: 'Create' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { eventName: [{ prefix: 'Delete' }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { eventName: [{ suffix: 'Node' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { eventName: [{ 'equals-ignore-case': 'createvirtualnode' }] } }, event)).toBe(
      true,
    );
    expect(matchesPattern({ detail: { version: [{ prefix: '3' }] } }, event)).toBe(false);
  });

  it('supports exists true and false, on present, null and missing fields', () => {
    expect(matchesPattern({ detail: { errorCode: [{ exists: false }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { errorCode: [{ exists: true }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { eventName: [{ exists: true }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { eventName: [{ exists: false }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { responseElements: [{ exists: true }] } }, event)).toBe(true);
    const failed = { detail: { ...event.detail, errorCode: 'AccessDenied' } };
    expect(matchesPattern({ detail: { errorCode: [{ exists: false }] } }, failed)).toBe(false);
  });

  it('supports anything-but with a value, a list, a prefix and a suffix, never matching a missing field', () => {
    expect(matchesPattern({ detail: { eventName: [{ 'anything-but': 'DeleteMesh' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { eventName: [{ 'anything-but': ['CreateVirtualNode', 'X'] }] } }, event)).toBe(
      false,
    );
    expect(matchesPattern({ detail: { version: [{ 'anything-but': [1, 2] }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { eventName: [{ 'anything-but': { prefix: 'Create' } }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { eventName: [{ 'anything-but': { prefix: 'Delete' } }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { eventName: [{ 'anything-but': { suffix: 'Node' } }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { missing: [{ 'anything-but': 'x' }] } }, event)).toBe(false);
  });

  it('supports numeric equality and ranges', () => {
    expect(matchesPattern({ detail: { version: [{ numeric: ['=', 3] }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { version: [{ numeric: ['>', 0, '<=', 2] }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { version: [{ numeric: ['>=', 3, '<', 4] }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { eventName: [{ numeric: ['=', 3] }] } }, event)).toBe(false);
  });

  it('supports $or alongside other keys', () => {
    const pattern = {
      source: ['aws.appmesh'],
      $or: [{ 'detail-type': ['Scheduled Event'] }, { detail: { eventName: [{ prefix: 'Create' }] } }],
    };
    expect(matchesPattern(pattern, event)).toBe(true);
    expect(matchesPattern({ ...pattern, source: ['aws.events'] }, event)).toBe(false);
    expect(matchesPattern({ $or: [{ a: ['1'] }, { b: ['2'] }] }, { c: '3' })).toBe(false);
  });

  it('rejects unsupported operators and malformed patterns, naming the key', () => {
    expect(() => matchesPattern({ detail: { eventName: [{ wildcard: 'Create*' }] } }, event)).toThrow(
      /'detail\.eventName'.*unsupported operator 'wildcard'/,
    );
    expect(() => matchesPattern({ source: 'aws.appmesh' }, event)).toThrow(/'source'.*must be in an array/);
    expect(() => matchesPattern({ detail: { x: [{ numeric: ['~', 1] }] } }, event)).toThrow(PatternError);
    expect(() => matchesPattern({ x: [{ 'anything-but': { wildcard: 'a*' } }] }, event)).toThrow(/anything-but/);
    expect(() => matchesPattern({ $or: [{ a: ['1'] }] }, event)).toThrow(/\$or/);
    expect(() => matchesPattern({ x: [] }, event)).toThrow(/empty/);
  });
});
