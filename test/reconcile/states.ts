import fc from 'fast-check';
import type { KongState } from '../../shared/kong/entities.js';
import {
  consumer,
  correlationConfig,
  jwt,
  route,
  service,
  servicePlugin,
  state,
  target,
  upstream,
} from './fixtures.js';

/**
 * Random owned states over a small universe of entities, so two draws overlap (updates), differ (creates, deletes)
 * and always hold valid references: a child is only present with its parent.
 */
const SERVICES = ['orders', 'billing', 'search', 'users'];
const UPSTREAMS = ['orders.mesh', 'billing.mesh', 'search.mesh'];
const ADDRESSES = ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:9090'];
const CONSUMERS = ['alice', 'bob', 'carol'];

/** Absent, or present in one of a few variants. */
const variant = (variants: number) => fc.option(fc.nat({ max: variants - 1 }), { nil: undefined });

export const kongStateArbitrary: fc.Arbitrary<KongState> = fc
  .record({
    services: fc.array(variant(3), { minLength: SERVICES.length, maxLength: SERVICES.length }),
    routes: fc.array(variant(3), { minLength: SERVICES.length, maxLength: SERVICES.length }),
    plugins: fc.array(variant(3), { minLength: SERVICES.length, maxLength: SERVICES.length }),
    upstreams: fc.array(variant(2), { minLength: UPSTREAMS.length, maxLength: UPSTREAMS.length }),
    targets: fc.array(variant(3), {
      minLength: UPSTREAMS.length * ADDRESSES.length,
      maxLength: UPSTREAMS.length * ADDRESSES.length,
    }),
    consumers: fc.array(variant(2), { minLength: CONSUMERS.length, maxLength: CONSUMERS.length }),
    jwts: fc.array(variant(2), { minLength: CONSUMERS.length * 2, maxLength: CONSUMERS.length * 2 }),
  })
  .map((draw) => {
    const result = state({});
    SERVICES.forEach((name, i) => {
      const v = draw.services[i];
      if (v === undefined) return;
      result.services.push(service(name, { port: [80, 8080, 9090][v]!, retries: v }));
      const r = draw.routes[i];
      if (r !== undefined) {
        const paths = [[`/${name}`], [`/${name}`, `/v2/${name}`], [`/api/${name}`]][r]!;
        result.routes.push(
          route(name, name, { paths, strip_path: r !== 1, methods: r === 2 ? ['GET', 'POST'] : null }),
        );
      }
      const p = draw.plugins[i];
      if (p !== undefined) {
        const header = ['x-request-id', 'x-correlation-id', 'x-trace'][p]!;
        result.plugins.push(servicePlugin('correlation-id', name, { config: correlationConfig(header, p === 2) }));
      }
    });
    UPSTREAMS.forEach((name, i) => {
      const v = draw.upstreams[i];
      if (v === undefined) return;
      result.upstreams.push(upstream(name, { slots: [10000, 1000][v]! }));
      ADDRESSES.forEach((address, j) => {
        const t = draw.targets[i * ADDRESSES.length + j];
        if (t !== undefined) result.targets.push(target(name, address, { weight: [100, 50, 0][t]! }));
      });
    });
    CONSUMERS.forEach((name, i) => {
      const v = draw.consumers[i];
      if (v === undefined) return;
      result.consumers.push(consumer(name, { custom_id: v === 1 ? `arn:aws:iam::123456789012:role/${name}` : null }));
      [1, 2].forEach((n, j) => {
        const k = draw.jwts[i * 2 + j];
        if (k !== undefined) result.jwts.push(jwt(name, `${name}-${n}`, { algorithm: 'HS256', secret: `s${k}` }));
      });
    });
    return result;
  });

/**
 * A pair of states whose plan has more than 50 writes of every action and level: the fault test fails each one.
 */
export function largeChange(): { before: KongState; after: KongState } {
  const names = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  const build = (kept: string[], extra: string[], port: number, weight: number) => {
    const all = [...kept, ...extra];
    return state({
      services: all.map((name) => service(name, { port })),
      routes: all.map((name) => route(name, name)),
      plugins: all
        .slice(0, 4)
        .map((name) => servicePlugin('correlation-id', name, { config: correlationConfig(`x-${port}`) })),
      upstreams: all.map((name) => upstream(`${name}.mesh`)),
      targets: all.map((name) => target(`${name}.mesh`, '10.0.0.1:8080', { weight })),
      consumers: extra.map((name) => consumer(name)),
      jwts: extra.map((name) => jwt(name, `${name}-1`, { algorithm: 'HS256' })),
    });
  };
  const kept = names('svc', 6);
  return { before: build(kept, names('old', 4), 80, 100), after: build(kept, names('new', 4), 8080, 50) };
}
