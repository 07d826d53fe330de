import { describe, expect, it } from 'vitest';
import { DEFAULT_TARGET_POLICY, parseCidr, targetHostProblem } from '../../shared/translate/target-policy.js';

const policy = { ...DEFAULT_TARGET_POLICY, adminHost: 'kong-admin.internal' };

describe('target address policy', () => {
  it.each([
    ['169.254.169.254', 'link-local'],
    ['127.0.0.1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', 'loopback'],
    ['0000:0000:0000:0000:0000:ffff:a9fe:a9fe', 'link-local'],
    ['fe80:0000:0000:0000:0000:0000:0000:0001', 'link-local'],
    ['localhost', 'loopback'],
    ['metadata.localhost', 'loopback'],
    ['kong-admin.internal', "Kong Admin API's own host"],
    ['8.8.8.8', 'outside the allowed CIDRs'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', 'outside the allowed CIDRs'],
    ['evil.example.com', 'not under an allowed suffix'],
  ])('refuses %s (%s)', (host, why) => {
    expect(targetHostProblem(host, policy)).toContain(why);
  });

  it.each([
    '10.0.0.1',
    '172.31.255.254',
    '192.168.1.1',
    '100.64.0.7',
    'fd00:0000:0000:0000:0000:0000:000a:0001',
    'orders.shop.internal',
    'edge.shop.local',
  ])('accepts %s', (host) => {
    expect(targetHostProblem(host, policy)).toBeUndefined();
  });

  it('refuses loopback even when a configured CIDR covers it, and the Admin API host by address', () => {
    const wide = { cidrs: ['0.0.0.0/0'], hostSuffixes: [], adminHost: '10.1.2.3' };
    expect(targetHostProblem('127.0.0.1', wide)).toContain('loopback');
    expect(targetHostProblem('10.1.2.3', wide)).toContain("Kong Admin API's own host");
    expect(targetHostProblem('8.8.8.8', wide)).toBeUndefined();
  });

  it('parses CIDRs strictly', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ network: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('fc00::/7')).toEqual({ network: 'fc00::', prefix: 7, family: 'ipv6' });
    for (const bad of ['10.0.0.0', '10.0.0.0/33', 'x/8', '10.0.0.0/8/1', 'fc00::/129']) {
      expect(parseCidr(bad)).toBeUndefined();
    }
  });
});
