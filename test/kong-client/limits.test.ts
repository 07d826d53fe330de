import { afterEach, describe, expect, it } from 'vitest';
import { KongClient } from '../../shared/kong/client.js';
import { KongError } from '../../shared/kong/errors.js';
import { type FakeHandler, type FakeServer, startFake } from './fake-server.js';

/** A hostile or broken Admin API cannot make the client buffer without bound or page forever. */

let fake: FakeServer | undefined;
let client: KongClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await fake?.close();
  fake = undefined;
});

async function setUp(handler: FakeHandler, maxResponseBytes?: number) {
  fake = await startFake(handler);
  client = new KongClient({
    url: fake.url,
    maxResponseBytes,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
  });
  return { server: fake, kong: client };
}

describe('Kong client limits', () => {
  it('refuses a response body larger than the cap, with a clear error', async () => {
    const huge = { data: [{ filler: 'x'.repeat(200_000) }], next: null };
    const { kong } = await setUp(() => ({ status: 200, body: huge }), 64 * 1024);

    const error = await kong.list('service').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KongError);
    expect((error as KongError).message).toMatch(/GET \/services.*larger than 65536 bytes \(KONG_MAX_RESPONSE_BYTES\)/);
  });

  it('refuses a streamed (chunked) body that grows past the cap', async () => {
    const { kong } = await setUp(
      () => ({
        status: 200,
        raw: `{"data":[],"pad":"${'y'.repeat(100_000)}"}`,
        headers: { 'transfer-encoding': 'chunked' },
      }),
      64 * 1024,
    );
    await expect(kong.list('service')).rejects.toThrow(/larger than 65536 bytes/);
  });

  it('stops when the server repeats an offset', async () => {
    const { server, kong } = await setUp(() => ({
      status: 200,
      body: { data: [], offset: 'again', next: '/services?offset=again' },
    }));

    const error = await kong.list('service').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KongError);
    expect((error as KongError).message).toContain("repeated the offset 'again'; paging stopped");
    expect(server.requests).toHaveLength(2);
  });
});
