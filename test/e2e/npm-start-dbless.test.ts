import { describe, expect, it } from 'vitest';
import { findLeaks } from '../support/secrets.js';
import { exitOf, npmStart, npmStartToEnd } from './support.js';

describe('npm start -- --kong-mode dbless (the demo against a DB-less Kong)', () => {
  it('runs every step through POST /config, keeps the hand-made service, and exits 0', async () => {
    const { code, output } = await npmStartToEnd(['--kong-mode', 'dbless']);
    expect(output, output).not.toContain('DEMO FAILED');
    expect(code, output).toBe(0);
    expect(output).toMatch(/Kong Admin API double {2}http:\/\/127\.0\.0\.1:\d+ {2}\(DB-less\)/);
    expect(output).toContain('creating target 10.0.1.13:8080 on upstream edge.shop.gateway');
    expect(output).toContain('kong: fault injected — every POST /config answers 500');
    expect(output).toMatch(/✓ apply rolled back: \d+ completed, [1-9]\d* failed, [1-9]\d* rolled back/);
    expect(output).toContain('✓ unowned service legacy-billing untouched');
    // The hand-made service and the edge JWKS (service, route, request-termination plugin) beside the mesh's.
    expect(output).toContain('5 services, 4 routes, 1 upstreams, 2 targets, 9 plugins, 1 consumers, 1 jwt credentials');
    expect(output).toContain('All checks passed');
    expect(findLeaks(output)).toEqual([]);
  }, 180_000);

  it('refuses an unknown --kong-mode', async () => {
    const run = npmStart(['--kong-mode', 'sqlite']);
    const code = await exitOf(run.child);
    expect(code).toBe(2);
    expect(run.output()).toContain("--kong-mode must be db, dbless or konnect, got 'sqlite'");
  }, 60_000);
});
