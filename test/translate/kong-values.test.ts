import { describe, expect, it } from 'vitest';
import { Rejection } from '../../shared/translate/desired-state.js';
import { checkPrefixPath, checkRouteHost, targetAddress } from '../../shared/translate/kong-values.js';

const rejection = (check: () => unknown) => {
  try {
    check();
  } catch (error) {
    if (error instanceof Rejection) return { field: error.field, reason: error.message };
    throw error;
  }
  return undefined;
};

describe('targetAddress (the form Kong stores, so desired and dumped targets compare equal)', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1:8080'],
    ['010.000.000.002', '10.0.0.2:8080'],
    ['::1', '[0000:0000:0000:0000:0000:0000:0000:0001]:8080'],
    ['[FD00::A:1]', '[fd00:0000:0000:0000:0000:0000:000a:0001]:8080'],
    ['::ffff:10.0.0.1', '[0000:0000:0000:0000:0000:ffff:0a00:0001]:8080'],
    ['1:2:3:4:5:6:7:8', '[0001:0002:0003:0004:0005:0006:0007:0008]:8080'],
    ['edge-1.shop.internal', 'edge-1.shop.internal:8080'],
  ])('%s → %s', (host, expected) => {
    expect(targetAddress(host, 8080, 'endpoint')).toBe(expected);
  });

  it.each([
    ['256.0.0.1', 'endpoint.host'],
    ['1::2::3', 'endpoint.host'],
    ['1:2:3:4:5:6:7:8:9', 'endpoint.host'],
    ['1:2:3:4::5:6:7:8', 'endpoint.host'],
    ['bad host', 'endpoint.host'],
    ['-edge', 'endpoint.host'],
  ])('rejects host %s naming the field and the value', (host, field) => {
    const failure = rejection(() => targetAddress(host, 8080, 'endpoint'));
    expect(failure?.field).toBe(field);
    expect(failure?.reason).toContain(host);
  });

  it.each([0, 65536, 1.5])('rejects port %s', (port) => {
    expect(rejection(() => targetAddress('10.0.0.1', port, 'endpoint'))?.field).toBe('endpoint.port');
  });
});

describe('checkPrefixPath (Kong refuses non-normalized paths)', () => {
  it.each(['/', '/orders', '/orders/v1.0/', '/a%20b', "/x-y_z~!$&'()*+,;=:@"])('accepts %s', (path) => {
    expect(checkPrefixPath(path, 'p')).toBe(path);
  });

  it.each(['orders', '', '//x', '/a/./b', '/a/..', '/a%2fb', '/%41', '/a%2', '/a b', '/a?b'])('rejects %s', (path) => {
    expect(rejection(() => checkPrefixPath(path, 'p'))).toEqual({
      field: 'p',
      reason: `path '${path}' is not a normalized path starting with '/'`,
    });
  });
});

describe('checkRouteHost', () => {
  it.each(['example.com', '*.example.com', 'example.*', 'a_b.example.com', '10.0.0.1'])('accepts %s', (host) => {
    expect(checkRouteHost(host, 'h')).toBe(host);
  });

  it.each(['*', '*.*.example.com', 'api.*.example.com', '*.example.*', 'exa mple.com', '*.10.0.0.1'])(
    'rejects %s',
    (host) => {
      expect(rejection(() => checkRouteHost(host, 'h'))?.field).toBe('h');
    },
  );
});
