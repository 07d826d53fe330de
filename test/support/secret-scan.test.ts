import { describe, expect, it } from 'vitest';
import { findLeaks, TEST_ADMIN_TOKEN, TEST_ROTATION_TOKEN } from './secrets.js';

// The scan runs around every test file; this checks that its detector recognises what it must and nothing else.
describe('findLeaks', () => {
  it('finds PKCS#8, EC and RSA private key PEMs but not public keys', () => {
    expect(findLeaks('x -----BEGIN PRIVATE KEY----- y')).toEqual(['a private key PEM']);
    expect(findLeaks('-----BEGIN EC PRIVATE KEY-----')).toHaveLength(1);
    expect(findLeaks('-----BEGIN RSA PRIVATE KEY-----')).toHaveLength(1);
    expect(findLeaks('-----BEGIN PUBLIC KEY-----')).toEqual([]);
  });

  it('finds the suite secrets without repeating them', () => {
    const leaks = findLeaks(`{"token":"${TEST_ADMIN_TOKEN}","RotationToken":"${TEST_ROTATION_TOKEN}"}`);
    expect(leaks).toHaveLength(2);
    expect(leaks.join()).not.toContain(TEST_ADMIN_TOKEN);
  });
});
