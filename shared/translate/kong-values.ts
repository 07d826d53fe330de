import { reject } from './desired-state.js';
import { routerRegexProblem } from './router-regex.js';

/**
 * Kong's rules for the values translation writes (reference §5). A value Kong would refuse is rejected here, for
 * the one source object it came from, instead of failing the whole apply later.
 */

const KONG_NAME = /^[A-Za-z0-9._~-]+$/;
const HOSTNAME_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const DOTTED_QUAD = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** Service and route names (`utf8_name`; meshgate writes ASCII names only). */
export function checkName(value: string, field: string): string {
  if (!KONG_NAME.test(value)) {
    reject(field, `name '${value}' may only contain letters, digits and . _ ~ -`);
  }
  return value;
}

export function isHostname(value: string): boolean {
  return (
    value.length <= 253 && !DOTTED_QUAD.test(value) && value.split('.').every((label) => HOSTNAME_LABEL.test(label))
  );
}

/** Upstream names must be hostnames: no IP address, no port. */
export function checkUpstreamName(value: string, field: string): string {
  if (!isHostname(value)) reject(field, `upstream name '${value}' is not a valid hostname`);
  return value;
}

/** Route hosts: an IPv4 address, or a hostname with at most one wildcard as the leftmost or the rightmost label. */
export function checkRouteHost(value: string, field: string): string {
  const labels = value.split('.');
  const wildcards = labels.filter((label) => label === '*').length;
  const wildcardAtEdge = labels[0] === '*' || labels.at(-1) === '*';
  const rest = labels.filter((label) => label !== '*').join('.');
  const plainIpv4 = wildcards === 0 && DOTTED_QUAD.test(value);
  if (
    wildcards > 1 ||
    (wildcards === 1 && (!wildcardAtEdge || labels.length < 2)) ||
    !(plainIpv4 || isHostname(rest))
  ) {
    reject(field, `host '${value}' is not a hostname with at most one wildcard as its leftmost or rightmost label`);
  }
  return value;
}

const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const PERCENT_ESCAPE = /%(?![0-9A-F]{2})|%(?:[46][1-9A-F]|[57][0-9A]|3[0-9]|2D|2E|5F|7E)/;

/**
 * A plain (prefix) path as Kong accepts it: starting with `/`, RFC 3986 characters, and already normalized
 * (no `//`, no dot segments, upper-case escapes, unreserved characters not escaped).
 */
export function checkPrefixPath(value: string, field: string): string {
  const segments = value.split('/').slice(1);
  const normalized =
    value.startsWith('/') &&
    PATH_CHARS.test(value) &&
    !PERCENT_ESCAPE.test(value) &&
    !value.includes('//') &&
    !segments.some((segment) => segment === '.' || segment === '..');
  if (!normalized) {
    reject(field, `path '${value}' is not a normalized path starting with '/'`);
  }
  return value;
}

/** A path or header regex Kong's router compiles (Rust `regex` semantics; see routerRegexProblem). */
export function checkRegex(regex: string, field: string): void {
  const problem = routerRegexProblem(regex);
  if (problem !== undefined) reject(field, `regex '${regex}' is refused by Kong's router: ${problem}`);
}

/** A path from a tag: `~…` is a regex path, anything else a prefix path. */
export function checkPath(value: string, field: string): string {
  if (!value.startsWith('~')) return checkPrefixPath(value, field);
  checkRegex(value.slice(1), field);
  return value;
}

export function escapeRegex(literal: string): string {
  return literal.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/**
 * `host:port` as Kong stores a target, so desired and actual compare equal: IPv4 without leading zeros, IPv6
 * fully expanded in brackets, hostnames as given.
 */
export function targetAddress(host: string, port: number, field: string): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) reject(`${field}.port`, `port ${port} is not in 1..65535`);
  if (DOTTED_QUAD.test(host)) {
    const octets = host.split('.').map(Number);
    if (octets.some((octet) => octet > 255)) reject(`${field}.host`, `host '${host}' is not a valid IPv4 address`);
    return `${octets.join('.')}:${port}`;
  }
  if (host.includes(':')) {
    const expanded = expandIpv6(host.replace(/^\[(.*)\]$/, '$1'));
    if (!expanded) reject(`${field}.host`, `host '${host}' is not a valid IPv6 address`);
    return `[${expanded}]:${port}`;
  }
  if (!isHostname(host)) reject(`${field}.host`, `host '${host}' is not a valid hostname or IP address`);
  return `${host}:${port}`;
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** `::1` → `0000:0000:0000:0000:0000:0000:0000:0001`; undefined when it is not an IPv6 address. */
function expandIpv6(address: string): string | undefined {
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string | undefined) => (part ? part.split(':').flatMap(ipv4TailAsGroups) : []);
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  const missing = 8 - head.length - tail.length;
  const groups = halves.length === 2 ? [...head, ...Array<string>(Math.max(missing, 0)).fill('0'), ...tail] : head;
  if (groups.length !== 8 || (halves.length === 2 && missing < 1) || !groups.every((g) => HEX_GROUP.test(g))) {
    return undefined;
  }
  return groups.map((group) => group.toLowerCase().padStart(4, '0')).join(':');
}

// An embedded IPv4 tail (`::ffff:10.0.0.1`) is two 16-bit groups.
function ipv4TailAsGroups(group: string): string[] {
  if (!DOTTED_QUAD.test(group)) return [group];
  const octets = group.split('.').map(Number);
  if (octets.some((octet) => octet > 255)) return ['invalid'];
  const [a = 0, b = 0, c = 0, d = 0] = octets;
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
