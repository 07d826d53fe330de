import { describe, expect, it } from 'vitest';
import { findLeaks } from '../support/secrets.js';
import { exitOf, freePort, npmStart, stop } from './support.js';

describe('npm start (the demo, as a new user runs it)', () => {
  it('tells every step, verifies Kong through the Admin API, exits 0 and leaves nothing running', async () => {
    const kongPort = await freePort();
    const run = npmStart(['--kong-port', String(kongPort)]);
    let code: number | null;
    try {
      code = await exitOf(run.child);
    } finally {
      stop(run.child);
    }
    const output = run.output();
    expect(output, output).not.toContain('DEMO FAILED');
    expect(code, output).toBe(0);

    expect(output).toContain(`Kong Admin API double  http://127.0.0.1:${kongPort}`);
    for (const step of [
      '1. A mesh is created; Kong follows',
      '2. A gateway instance registers in Cloud Map; a target appears',
      '3. A gateway instance deregisters; its target goes',
      '4. A gateway route is deleted; its Kong service and route go',
      '5. A consumer is added, synced, and its key rotated',
      '6. Kong fails during setSecret; the rotation is rolled back',
      '7. A bad mesh change',
      '8. One command rolls Kong back and freezes automatic sync',
      '9. While frozen, mesh events plan but apply nothing',
      '10. Resume',
      "11. Key rollback: alice's newest key is revoked",
      '12. Kong fails in the middle of a sync apply; rolled back',
      '13. Chain of custody: a workload’s own token, through Kong, to the mesh over TLS',
      "14. ledger-client's key rotates; old and new tokens both hold",
    ]) {
      expect(output).toContain(step);
    }
    // The plan lines, the read-back counts and the checks the demo made.
    expect(output).toContain('creating route shop.edge.orders');
    expect(output).toContain('creating target 10.0.1.13:8080 on upstream edge.shop.gateway');
    expect(output).toMatch(/✓ apply rolled back: \d+ completed, [1-9]\d* failed, [1-9]\d* rolled back/);
    expect(output).toContain('✓ a token of the rolled-back key is refused by Kong');
    // The chain of custody: token by role, Kong to the mesh over verified TLS with identity and trace, edge JWKS.
    expect(output).toContain('✓ the token function issued a token for consumer ledger-client');
    expect(output).toContain('✓ a role no consumer maps to gets 403 from the token function');
    expect(output).toMatch(/✓ the mesh gateway received GET \/ledger\/entries\/7 over TLSv1\.[23]/);
    expect(output).toContain('X-Consumer-Custom-ID arn:aws:iam::123456789012:role/ledger-workload');
    expect(output).toContain("✓ in the workload's trace: traceparent 00-");
    expect(output).toMatch(/✓ the token verifies against the edge JWKS .*keys .*ledger-client-.*ledger-client-/);
    // The audit trail read back from the log group the audit bus's rule writes to.
    expect(output).toContain('✓ every kind of run above reached the log group through the audit bus’s rule');
    // The final read-back: three mesh services, the edge JWKS service (meshgate-jwks) and the unowned one; each mesh
    // service has jwt (orders, payments), correlation-id and opentelemetry plugins.
    expect(output).toContain('5 services, 4 routes, 1 upstreams, 2 targets, 9 plugins, 1 consumers, 1 jwt credentials');
    expect(output).toContain('All checks passed');
    // Quiet handlers and no secret material: no JSON log lines, no private keys, no rotation tokens.
    expect(output).not.toMatch(/^\{"level"/m);
    expect(output).not.toContain('RotationToken');
    expect(findLeaks(output)).toEqual([]);

    // Nothing left listening on the Kong port.
    await expect(fetch(`http://127.0.0.1:${kongPort}/`)).rejects.toThrow();
  }, 120_000);
});
