import { BlockList, isIP, SocketAddress } from 'node:net';

/**
 * Where Kong may send traffic. A Cloud Map instance or DNS endpoint is data anyone with `RegisterInstance` (or a
 * tag) can write; behind a public route, a target at `169.254.169.254`, `127.0.0.1` or Kong's own Admin API host
 * would turn Kong into a proxy to instance metadata or to its own control plane (SSRF). So addresses are accepted
 * only inside configured CIDRs and hostnames only under configured suffixes, and some addresses never.
 */
export interface TargetPolicy {
  /** CIDRs instance addresses must fall in (`10.0.0.0/8`, `fc00::/7`, …). */
  cidrs: readonly string[];
  /** DNS suffixes hostnames must end with (`.internal`, …). */
  hostSuffixes: readonly string[];
  /** The Kong Admin API's host (name or address): never a target, whatever the lists say. */
  adminHost?: string;
}

/** RFC 1918, RFC 6598 shared address space (VPC CNI, ECS), and IPv6 unique local addresses. */
export const DEFAULT_TARGET_CIDRS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'];
export const DEFAULT_TARGET_HOST_SUFFIXES = ['.internal', '.local'];

export const DEFAULT_TARGET_POLICY: TargetPolicy = {
  cidrs: DEFAULT_TARGET_CIDRS,
  hostSuffixes: DEFAULT_TARGET_HOST_SUFFIXES,
};

// Loopback, link-local (instance metadata), unspecified, multicast and broadcast: refused even when a configured
// CIDR covers them.
const NEVER = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['255.255.255.255', 32, 'ipv4', 'broadcast'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
] as const;

const never = NEVER.map(([network, prefix, family, what]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { list, what };
});

/** `a.b.c.d/n` or `x::/n`; undefined when it is not a CIDR. */
export function parseCidr(cidr: string): { network: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [network = '', prefixText, ...rest] = cidr.trim().split('/');
  const version = isIP(network);
  if (version === 0 || rest.length > 0 || prefixText === undefined || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (version === 4 ? 32 : 128)) return undefined;
  return { network, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

const allowedLists = new WeakMap<readonly string[], BlockList>();

function allowedList(cidrs: readonly string[]): BlockList {
  let list = allowedLists.get(cidrs);
  if (!list) {
    list = new BlockList();
    for (const cidr of cidrs) {
      const parsed = parseCidr(cidr);
      if (parsed) list.addSubnet(parsed.network, parsed.prefix, parsed.family);
    }
    allowedLists.set(cidrs, list);
  }
  return list;
}

const normalizedHost = (host: string) =>
  host
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();

/** Why `host` (an IP address or a hostname) may not be a target under `policy`; undefined when it may. Pure. */
export function targetHostProblem(host: string, policy: TargetPolicy): string | undefined {
  const address = normalizedHost(host);
  const version = isIP(address);
  // One SocketAddress for every check below: BlockList.check of a string builds a native one per call, and at
  // 10,000 targets those (and their GC) were most of the translation's time.
  const socketAddress = version === 0 ? undefined : new SocketAddress({ address, family: familyOf(version) });
  if (policy.adminHost !== undefined && sameHost(address, socketAddress, normalizedHost(policy.adminHost))) {
    return `address '${host}' is the Kong Admin API's own host`;
  }
  if (socketAddress === undefined) {
    if (address === 'localhost' || address.endsWith('.localhost')) return `hostname '${host}' is loopback`;
    const suffixes = policy.hostSuffixes.map((suffix) => `.${suffix.replace(/^\./, '').toLowerCase()}`);
    if (!suffixes.some((suffix) => address.endsWith(suffix))) {
      return `hostname '${host}' is not under an allowed suffix (TARGET_HOST_SUFFIXES: ${suffixes.join(', ') || 'none'})`;
    }
    return undefined;
  }
  const refused = never.find(({ list }) => list.check(socketAddress));
  if (refused) return `address '${host}' is ${refused.what}`;
  if (!allowedList(policy.cidrs).check(socketAddress)) {
    return `address '${host}' is outside the allowed CIDRs (TARGET_CIDRS: ${policy.cidrs.join(', ') || 'none'})`;
  }
  return undefined;
}

const familyOf = (version: number) => (version === 6 ? 'ipv6' : 'ipv4');

/** The admin host as a one-address list, built once per host (a run checks every target against it). */
const adminHostLists = new Map<string, BlockList>();

function sameHost(a: string, socketAddress: SocketAddress | undefined, b: string): boolean {
  if (a === b) return true;
  const version = isIP(b);
  if (socketAddress === undefined || version === 0 || familyOf(version) !== socketAddress.family) return false;
  // Two spellings of one address (`::1` and `0:0:0:0:0:0:0:1`, `010.0.0.1` is not valid IPv4 for isIP).
  let list = adminHostLists.get(b);
  if (!list) {
    list = new BlockList();
    list.addAddress(b, familyOf(version));
    adminHostLists.set(b, list);
  }
  return list.check(socketAddress);
}
