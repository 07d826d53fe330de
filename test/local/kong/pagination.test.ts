import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { KongDouble } from '../../../local/kong/server.js';
import { call, useKongDouble } from './helpers.js';

const kong = useKongDouble();

async function createServices(double: KongDouble, count: number, tags: (index: number) => string[] = () => []) {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const id = randomUUID();
    ids.push(id);
    await call(double, 'PUT', `/services/${id}`, { name: `svc-${i}`, host: 'a.test', tags: tags(i) });
  }
  return ids.sort();
}

/** Follows `offset` like decK does and returns every id in order, with the number of pages. */
async function listAll(double: KongDouble, path: string) {
  const ids: string[] = [];
  let pages = 0;
  let offset: string | undefined;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page = await call(
      double,
      'GET',
      `${path}${offset ? `${separator}offset=${encodeURIComponent(offset)}` : ''}`,
    );
    expect(page.status).toBe(200);
    pages += 1;
    ids.push(...page.body.data.map((entity: { id: string }) => entity.id));
    offset = page.body.offset;
  } while (offset);
  return { ids, pages };
}

describe('pagination', () => {
  it('pages by id ascending with size default 100, an opaque offset and next', async () => {
    const ids = await createServices(kong(), 105);
    const first = await call(kong(), 'GET', '/services');
    expect(first.body.data).toHaveLength(100);
    expect(first.body.data.map((s: { id: string }) => s.id)).toEqual(ids.slice(0, 100));
    expect(first.body.offset).toEqual(expect.any(String));
    expect(first.body.next).toBe(`/services?offset=${encodeURIComponent(first.body.offset)}`);
    const second = await call(kong(), 'GET', first.body.next);
    expect(second.body).toEqual({ data: expect.any(Array), next: null });
    expect(second.body.data.map((s: { id: string }) => s.id)).toEqual(ids.slice(100));
    expect(await listAll(kong(), '/services?size=7')).toEqual({ ids, pages: 15 });
  });

  it('keeps tags and size in next', async () => {
    await createServices(kong(), 3, () => ['a']);
    const page = await call(kong(), 'GET', '/services?size=2&tags=a');
    expect(page.body.next).toBe(`/services?offset=${encodeURIComponent(page.body.offset)}&tags=a&size=2`);
  });

  it('refuses bad size, offset and tags with codes 9, 7 and 11', async () => {
    expect((await call(kong(), 'GET', '/services?size=abc')).body).toEqual({
      code: 9,
      name: 'invalid size',
      message: 'size must be a number',
    });
    expect((await call(kong(), 'GET', '/services?size=1001')).body.message).toBe(
      'size must be an integer between 1 and 1000',
    );
    expect((await call(kong(), 'GET', '/services?offset=%25%25')).body).toEqual({
      code: 7,
      name: 'invalid offset',
      message: "'%%' is not a valid offset: bad base64 encoding",
    });
    expect((await call(kong(), 'GET', '/services?offset=bm9wZQ')).body.message).toBe(
      "'bm9wZQ' is not a valid offset: bad json encoding",
    );
    expect((await call(kong(), 'GET', '/services?tags=a,b/c')).body).toEqual({
      code: 11,
      name: 'invalid options',
      message: 'invalid option (tags: invalid filter syntax)',
      options: { tags: 'invalid filter syntax' },
    });
    expect((await call(kong(), 'GET', '/services?tags=')).body.message).toBe('invalid option (tags: cannot be null)');
    expect((await call(kong(), 'GET', '/services?tags=a,b,c,d,e,f')).body.options).toEqual({
      tags: 'cannot query more than 5 tags',
    });
  });
});

describe('tag filters', () => {
  it('ANDs with "," and ORs with "/", on top-level lists only', async () => {
    const tagsOf = (i: number) => [['a', 'b'], ['a'], ['b'], ['c']][i % 4] as string[];
    const ids = await createServices(kong(), 40, tagsOf);
    const all = await Promise.all(ids.map(async (id) => (await call(kong(), 'GET', `/services/${id}`)).body));
    const having = (predicate: (tags: string[]) => boolean) =>
      all.filter((s) => predicate(s.tags)).map((s) => s.id as string);
    expect((await listAll(kong(), '/services?tags=a,b&size=3')).ids).toEqual(
      having((t) => t.includes('a') && t.includes('b')),
    );
    expect((await listAll(kong(), '/services?tags=a/c&size=4')).ids).toEqual(
      having((t) => t.includes('a') || t.includes('c')),
    );
    expect((await listAll(kong(), '/services?tags=zzz')).ids).toEqual([]);
    const svc = all.find((s) => s.tags.includes('c'));
    await call(kong(), 'POST', `/services/${svc.id}/routes`, { paths: ['/'], tags: ['x'] });
    expect((await call(kong(), 'GET', `/services/${svc.id}/routes?tags=nope`)).body.data).toHaveLength(1);
  });

  it('serves /tags and /tags/{tag}, paged', async () => {
    const [id] = await createServices(kong(), 1, () => ['t1', 't2']);
    const consumer = (await call(kong(), 'POST', '/consumers', { username: 'c', tags: ['t1'] })).body;
    const rows = await call(kong(), 'GET', '/tags?size=1');
    expect(rows.body.data).toHaveLength(1);
    const tagged = await call(kong(), 'GET', '/tags/t1');
    expect(tagged.body.data).toEqual(
      expect.arrayContaining([
        { entity_name: 'services', entity_id: id, tag: 't1' },
        { entity_name: 'consumers', entity_id: consumer.id, tag: 't1' },
      ]),
    );
    let count = 0;
    let path: string | null = '/tags?size=1';
    while (path) {
      const page: { body: { data: unknown[]; next: string | null } } = await call(kong(), 'GET', path);
      count += page.body.data.length;
      path = page.body.next;
    }
    expect(count).toBe(3);
  });
});

describe('scale', () => {
  it('lists 2,500 tagged services in pages of 1000, complete and ordered', async () => {
    const double = kong();
    const owned = ['managed-by:meshgate', 'meshgate:instance=bench'];
    const responses = [];
    for (let batch = 0; batch < 25; batch += 1) {
      responses.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            call(double, 'PUT', `/services/${randomUUID()}`, { name: `s-${batch}-${i}`, host: 'a.test', tags: owned }),
          ),
        )),
      );
    }
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const { ids, pages } = await listAll(double, `/services?size=1000&tags=${encodeURIComponent(owned.join(','))}`);
    expect(pages).toBe(3);
    expect(ids).toHaveLength(2_500);
    expect([...ids].sort()).toEqual(ids);
  });
});
