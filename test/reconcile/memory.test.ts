import { describe, expect, it } from 'vitest';
import { emptyKongState, normalizeEntity } from '../../shared/kong/entities.js';
import { diff } from '../../shared/reconcile/diff.js';
import type { Endpoint } from '../../shared/sources/model.js';
import { translate } from '../../shared/translate/index.js';

const tags = ['managed-by:meshgate', 'meshgate:instance=default'];

/** The desired state of exposed Cloud Map services, each with `endpoints`. */
function translatedServices(names: string[], endpoints: Endpoint[] = []) {
  const exposed = (name: string) => ({
    id: `srv-${name}`,
    arn: `arn:srv-${name}`,
    namespace: 'shop.local',
    name,
    tags: { 'meshgate:expose': 'true' },
    endpoints,
  });
  const mesh = {
    gateways: [],
    gatewayRoutes: [],
    virtualServices: [],
    failures: [],
    cloudMapServices: names.map(exposed),
  };
  return translate({ mesh, consumers: [], options: { instance: 'unit', tracingHeader: 'x-request-id' } }).state;
}

describe('the plan holds the desired entities, not copies (peak memory of a large sync)', () => {
  it('a create writes the translated entity itself', () => {
    const desired = emptyKongState();
    desired.services.push(normalizeEntity('service', { id: 's1', name: 'orders', host: 'orders.internal', tags }));
    const [change] = diff(emptyKongState(), desired);
    expect(change?.action).toBe('create');
    expect(change?.entity).toBe(desired.services[0]);
  });

  it('a translated entity, tagged with its source object, is written itself', () => {
    const state = translatedServices(
      ['orders'],
      [{ instanceId: 'i-1', host: '10.0.0.1', port: 8080, healthy: true, attributes: {} }],
    );
    const changes = diff(emptyKongState(), state);
    expect(changes.map(({ kind }) => kind).sort()).toEqual(['plugin', 'route', 'service', 'target', 'upstream']);
    const desired = [...state.services, ...state.routes, ...state.plugins, ...state.upstreams, ...state.targets];
    for (const change of changes) expect(desired).toContain(change.entity);
    expect(state.services[0]?.tags).toContain('meshgate:object=cloudmap:shop.local%2Forders');
  });

  it('entities alike share one nested value (health checks, plugin config, tags) instead of a copy each', () => {
    const state = translatedServices(['orders', 'payments']);
    const [first, second] = state.upstreams;
    expect(first?.healthchecks).toEqual(second?.healthchecks);
    expect(first?.healthchecks).toBe(second?.healthchecks);
    expect(state.plugins.map(({ config }) => config)).toEqual([state.plugins[0]?.config, state.plugins[0]?.config]);
    expect(state.plugins[1]?.config).toBe(state.plugins[0]?.config);
    // The service and the upstream of one exposed Cloud Map service carry the same tags: one array.
    expect(state.services[0]?.tags).toBe(state.upstreams[0]?.tags);
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
