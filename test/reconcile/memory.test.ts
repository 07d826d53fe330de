import { describe, expect, it } from 'vitest';
import { emptyKongState, normalizeEntity } from '../../shared/kong/entities.js';
import { diff } from '../../shared/reconcile/diff.js';

const tags = ['managed-by:meshgate', 'meshgate:instance=default'];

describe('the plan holds the desired entities, not copies (peak memory of a large sync)', () => {
  it('a create writes the translated entity itself', () => {
    const desired = emptyKongState();
    desired.services.push(normalizeEntity('service', { id: 's1', name: 'orders', host: 'orders.internal', tags }));
    const [change] = diff(emptyKongState(), desired);
    expect(change?.action).toBe('create');
    expect(change?.entity).toBe(desired.services[0]);
  });

  it('an entity not built by normalizeEntity (a snapshot read from a file) still gets Kong defaults', () => {
    const desired = emptyKongState();
    desired.services.push({ id: 's1', name: 'orders', host: 'orders.internal', tags } as never);
    const [change] = diff(emptyKongState(), desired);
    expect(change?.entity).not.toBe(desired.services[0]);
    expect(change?.entity).toMatchObject({ port: 80, protocol: 'http', retries: 5 });
  });

  it('normalizing an entity as another kind parses it as that kind', () => {
    const service = normalizeEntity('service', { id: 's1', host: 'orders.internal', tags });
    expect(() => normalizeEntity('target', service)).toThrow();
  });
});
