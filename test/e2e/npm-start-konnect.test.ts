import { describe, expect, it } from 'vitest';
import { findLeaks } from '../support/secrets.js';
import { npmStartToEnd } from './support.js';

describe('npm start -- --kong-mode konnect (the demo against a Konnect control plane)', () => {
  it('runs every step through the control plane’s core-entities API with a bearer token, and exits 0', async () => {
    const { code, output } = await npmStartToEnd(['--kong-mode', 'konnect']);
    expect(output, output).not.toContain('DEMO FAILED');
    expect(code, output).toBe(0);
    expect(output).toMatch(
      /Kong Admin API double {2}http:\/\/127\.0\.0\.1:\d+\/v2\/control-planes\/[0-9a-f-]{36}\/core-entities {2}\(Konnect control plane\)/,
    );
    expect(output).toContain('creating target 10.0.1.13:8080 on upstream edge.shop.gateway');
    expect(output).toMatch(/✓ apply rolled back: \d+ completed, [1-9]\d* failed, [1-9]\d* rolled back/);
    expect(output).toContain('✓ legacy-billing still there, never touched');
    expect(output).toContain('5 services, 4 routes, 1 upstreams, 2 targets, 9 plugins, 1 consumers, 1 jwt credentials');
    expect(output).toContain('All checks passed');
    expect(findLeaks(output)).toEqual([]);
  }, 180_000);
});
