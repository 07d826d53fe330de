import { describe, expect, it } from 'vitest';
import type { KongApi } from '../../shared/kong/api.js';
import { fencedKong, signalFence } from '../../shared/kong/fenced.js';

/** A Kong client that only records what reached it. */
function recordingKong(calls: string[]): KongApi {
  const written = async (what: string): Promise<void> => {
    calls.push(what);
  };
  return {
    version: async () => '3.9.3',
    list: async () => [],
    get: async (kind, key) => {
      calls.push(`get ${kind} ${key}`);
      return undefined;
    },
    create: (kind) => written(`create ${kind}`),
    update: (kind) => written(`update ${kind}`),
    upsert: (kind) => written(`upsert ${kind}`),
    delete: async (kind) => {
      calls.push(`delete ${kind}`);
    },
  };
}

describe('fencedKong', () => {
  it('writes while the lease holds; once its signal aborts, no write reaches Kong and reads still do', async () => {
    const calls: string[] = [];
    const lease = new AbortController();
    const kong = fencedKong(recordingKong(calls), signalFence(lease.signal));
    const credential = { id: 'c1' } as never;
    await kong.upsert('jwt', credential);

    lease.abort(new Error('the state-store lease of rotation:setSecret#1 was taken over'));
    await expect(kong.delete('jwt', credential)).rejects.toThrow('was taken over');
    await expect(kong.create('jwt', credential)).rejects.toThrow('was taken over');
    await kong.get('jwt', 'c1');
    expect(calls).toEqual(['upsert jwt', 'get jwt c1']);
  });
});
