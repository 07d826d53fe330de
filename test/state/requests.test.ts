import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publishConsumerKeys } from '../../shared/consumers/public-keys.js';
import { BackedStateStore, type ObjectBackend } from '../../shared/state/backed-store.js';
import { DirectoryBackend } from '../../shared/state/dir.js';
import { withLease } from '../../shared/state/lease.js';
import { emptyPublicKeyDocument, encodePublicKeys } from '../../shared/state/public-keys.js';

/**
 * What the state store asks of its backend (on S3: requests). Every rotation step that writes Kong takes the lease,
 * records its run and publishes keys, so these counts are per step; they must not grow back.
 */

/** A directory backend that counts calls per method. */
class CountingBackend extends DirectoryBackend {
  readonly calls: Record<string, number> = {};
  private depth = 0;
  constructor(location: string) {
    super(location);
    for (const method of [
      'read',
      'write',
      'remove',
      'keys',
      'readVersioned',
      'createIfAbsent',
      'replaceIfMatch',
      'removeIfMatch',
    ] as const) {
      const original = this[method].bind(this) as (...args: unknown[]) => Promise<unknown>;
      (this as Record<string, unknown>)[method] = async (...args: unknown[]) => {
        // Only the store's own calls: the backend's calls to itself (a conditional write reads) are not requests.
        if (this.depth === 0) this.calls[method] = (this.calls[method] ?? 0) + 1;
        this.depth += 1;
        try {
          return await original(...args);
        } finally {
          this.depth -= 1;
        }
      };
    }
  }
  reset(): void {
    for (const method of Object.keys(this.calls)) delete this.calls[method];
  }
}

let folder: string;
let backend: CountingBackend;
let store: BackedStateStore;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'meshgate-requests-'));
  backend = new CountingBackend(folder);
  store = new BackedStateStore(backend as ObjectBackend, 'prod', { snapshots: 5, runs: 5 });
});
afterEach(() => rm(folder, { recursive: true, force: true }));

const publication = {
  consumer: 'alice',
  secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:meshgate/consumers/alice-AbCdEf',
  secretName: 'meshgate/consumers/alice',
  stages: { v1: ['AWSCURRENT'] },
  keys: [
    {
      versionId: 'v1',
      kid: 'alice-v1',
      alg: 'ES256' as const,
      createdAt: '2026-12-01T00:00:00.000Z',
      publicKeyPem: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
        format: 'pem',
        type: 'spki',
      }) as string,
    },
  ],
};

describe('state store requests', () => {
  it('a lease taken and released without contention: one read and one conditional write each way', async () => {
    backend.reset();
    await withLease(store, { purpose: 'test', onBusy: 'throw', onPending: 'rerun' }, async () => undefined);
    expect(backend.calls).toEqual({ readVersioned: 1, createIfAbsent: 1, removeIfMatch: 1 });
  });

  it('renewing a lease nobody marked is one conditional write', async () => {
    await withLease(store, { purpose: 'test', onBusy: 'throw', onPending: 'rerun' }, async ({ fence }) => {
      backend.reset();
      await fence();
      expect(backend.calls).toEqual({ replaceIfMatch: 1 });
    });
  });

  it('a release finds a "pending" mark made meanwhile (the direct delete fails on its ETag) and reruns', async () => {
    let runs = 0;
    const outcome = await withLease(store, { purpose: 'test', onBusy: 'throw', onPending: 'rerun' }, async () => {
      runs += 1;
      if (runs === 1) expect(await store.markLeasePending()).toBe(true);
    });
    expect(outcome).toMatchObject({ held: true, reruns: 1 });
    expect(await store.readLease()).toBeUndefined();
  });

  it('publishing what the document already holds writes nothing', async () => {
    await publishConsumerKeys(store, publication, { graceMs: 3_600_000 });
    backend.reset();
    await publishConsumerKeys(store, publication, { graceMs: 3_600_000 });
    expect(backend.calls.replaceIfMatch ?? 0).toBe(0);
    expect(backend.calls.createIfAbsent ?? 0).toBe(0);
  });

  it('reads the document another process wrote, not the one it parsed before', async () => {
    await publishConsumerKeys(store, publication, { graceMs: 3_600_000 });
    const other = new BackedStateStore(new DirectoryBackend(folder), 'prod');
    await publishConsumerKeys(
      other,
      { ...publication, consumer: 'bob', secretName: 'meshgate/consumers/bob' },
      { graceMs: 3_600_000 },
    );
    expect(Object.keys((await store.readPublicKeys())?.meshgate.consumers ?? {}).sort()).toEqual(['alice', 'bob']);
  });

  it('finishing a run it started needs no read; the folder is listed only when it may be over retention', async () => {
    backend.reset();
    for (let run = 0; run < 5; run += 1) {
      const id = await store.startRun({ kind: 'rotation', trigger: 'setSecret', holder: `h${run}` });
      await store.finishRun(id, {
        kind: 'rotation',
        trigger: 'setSecret',
        outcome: 'applied',
        startedAt: new Date().toISOString(),
        durationMs: 1,
      });
      await new Promise((resolve) => setTimeout(resolve, 2)); // distinct millisecond ids
    }
    // The first run lists (nothing known yet); the next four fit in the retention of 5.
    expect(backend.calls).toEqual({ write: 10, keys: 1 });
    expect((await store.listRuns(10)).map((run) => run.holder)).toEqual(['h4', 'h3', 'h2', 'h1', 'h0']);
  });

  it('a store at its retention lists the folder once per tenth of it, not at every record', async () => {
    const kept = new BackedStateStore(backend as ObjectBackend, 'prod', { snapshots: 5, runs: 20 });
    const triggers: string[] = [];
    for (let run = 0; run < 50; run += 1) {
      triggers.push(`r${run}`);
      await kept.recordRun({ kind: 'sync', trigger: `r${run}`, outcome: 'no-changes', startedAt: '', durationMs: 1 });
      await new Promise((resolve) => setTimeout(resolve, 2)); // distinct millisecond ids
    }
    // The first record lists; then one listing per 3 records (the slack of 2 over 20 filled): 1 + 10, not 1 + 30.
    expect(backend.calls.keys).toBe(11);
    const listed = (await kept.listRuns(100)).map((run) => run.trigger);
    expect(listed.length).toBeGreaterThanOrEqual(20);
    expect(listed.length).toBeLessThanOrEqual(22);
    expect(listed.slice(0, 20)).toEqual(triggers.slice(-20).reverse());
  });

  it('a folder removed under the store is made again', async () => {
    await store.setFreeze({ reason: 'x', by: 'y' });
    await rm(join(folder, 'prod'), { recursive: true, force: true });
    await store.setFreeze({ reason: 'again', by: 'y' });
    expect((await store.getFreeze())?.reason).toBe('again');
  });
});

describe('encodePublicKeys', () => {
  it('writes the bytes JSON.stringify writes, reusing the bytes of what did not change', async () => {
    const encoded = new WeakMap<object, Buffer>();
    const json = (document: object) => Buffer.from(JSON.stringify(document), 'utf8');
    await publishConsumerKeys(store, publication, { graceMs: 3_600_000 });
    const first = (await store.readPublicKeys())!;
    expect(encodePublicKeys(first, encoded)).toEqual(json(first));
    await publishConsumerKeys(
      store,
      { ...publication, consumer: 'bob', secretName: 'meshgate/consumers/bob' },
      { graceMs: 3_600_000 },
    );
    const second = (await store.readPublicKeys())!;
    const alice = first.meshgate.consumers.alice!;
    expect(second.meshgate.consumers.alice).toBe(alice);
    const aliceBytes = encoded.get(alice);
    expect(encodePublicKeys(second, encoded)).toEqual(json(second));
    expect(encoded.get(alice)).toBe(aliceBytes);
    expect(encodePublicKeys(emptyPublicKeyDocument('prod'), encoded)).toEqual(json(emptyPublicKeyDocument('prod')));
    // Text beyond ASCII is UTF-8, as JSON.stringify's text written out.
    const named = { ...first, meshgate: { ...first.meshgate, instance: 'prüfung', consumers: { zoë: alice } } };
    expect(encodePublicKeys(named, encoded)).toEqual(json(named));
  });
});
