import { randomUUID } from 'node:crypto';
import { type Field, isUuid, messages } from './fields.js';

/** Field definitions shared by several entities (kong/db/schema/typedefs.lua). */

export const PROTOCOLS = ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'] as const;
export const HTTP_PROTOCOLS = ['grpc', 'grpcs', 'http', 'https'] as const;

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export const id: Field = {
  type: 'string',
  auto: randomUUID,
  check: (v: string) => (isUuid(v) ? undefined : messages.uuid),
};
export const timestamp: Field = { type: 'integer', auto: nowSeconds };

const TAG = /^[\x20-\x2b\x2d-\x2e\x30-\x7e\u0080-\u{10ffff}]+$/u;
export const tags: Field = {
  type: 'set',
  elements: {
    type: 'string',
    check: (v: string) =>
      TAG.test(v)
        ? undefined
        : `invalid tag '${v}': expected printable ascii (except \`,\` and \`/\`) or valid utf-8 sequences`,
  },
};

const UTF8_NAME = /^[A-Za-z0-9._~\-\u0080-\u{10ffff}]+$/u;
export const utf8Name: Field = {
  type: 'string',
  check: (v: string) =>
    UTF8_NAME.test(v)
      ? undefined
      : `invalid value '${v}': the only accepted ascii characters are alphanumerics or ., -, _, and ~`,
};

const HOSTNAME =
  /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIpv4(value: string): boolean {
  const match = IPV4.exec(value);
  return !!match && match.slice(1).every((octet) => Number(octet) <= 255);
}

/** Splits `host[:port]` / `[ipv6][:port]`; undefined when the text is not a host. */
export function parseHostPort(
  value: string,
): { host: string; port?: number; kind: 'name' | 'ipv4' | 'ipv6' } | undefined {
  let host = value;
  let portText: string | undefined;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return undefined;
    host = value.slice(1, end);
    const rest = value.slice(end + 1);
    if (rest) {
      if (!rest.startsWith(':')) return undefined;
      portText = rest.slice(1);
    }
    if (!/^[0-9a-fA-F:.]+$/.test(host) || !host.includes(':')) return undefined;
  } else if ((value.match(/:/g) ?? []).length === 1) {
    [host, portText] = value.split(':') as [string, string];
  } else if (value.includes(':')) {
    if (!/^[0-9a-fA-F:.]+$/.test(value)) return undefined;
    return { host: value, kind: 'ipv6' };
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return undefined;
    port = Number(portText);
  }
  if (value.startsWith('[')) return { host, port, kind: 'ipv6' };
  if (isIpv4(host)) return { host, port, kind: 'ipv4' };
  if (/^[\d.]+$/.test(host)) return undefined;
  return HOSTNAME.test(host) ? { host, port, kind: 'name' } : undefined;
}

export const host: Field = {
  type: 'string',
  check: (v: string) => {
    const parsed = parseHostPort(v);
    if (!parsed) return `invalid value: ${v}`;
    return parsed.port === undefined ? undefined : 'must not have a port';
  },
};

export const hostWithOptionalPort: Field = {
  type: 'string',
  check: (v: string) => (parseHostPort(v) ? undefined : `invalid value: ${v}`),
};

export const port: Field = { type: 'integer', between: [0, 65535] };

const PATH_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
export const path: Field = {
  type: 'string',
  starts_with: '/',
  check: (v: string) => {
    if (v.includes('//')) return 'must not have empty segments';
    if (!PATH_CHARS.test(v)) return `invalid path: '${v}' (characters outside of the reserved list of RFC 3986 found)`;
    if (/%(?![0-9A-Fa-f]{2})/.test(v)) return `invalid url-encoded value: '${v}'`;
    return undefined;
  },
};

export const timeout: Field = { type: 'integer', between: [1, 2 ** 31 - 2] };

export const foreign = (reference: string, required = false): Field => ({ type: 'foreign', reference, required });

export const protocols = (values: readonly string[], defaults: readonly string[]): Field => ({
  type: 'set',
  required: true,
  len_min: 1,
  default: [...defaults],
  elements: { type: 'string', one_of: values },
});

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
export const headerName: Field = {
  type: 'string',
  check: (v: string) =>
    HEADER_NAME.test(v) ? undefined : `bad header name '${v}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`,
};

export const url: Field = {
  type: 'string',
  check: (v: string) => {
    try {
      const parsed = new URL(v);
      return parsed.host ? undefined : 'missing host in url';
    } catch {
      return 'missing host in url';
    }
  },
};
