import { describe, expect, it } from 'vitest';
import { KNOWN_SECRETS, PRIVATE_KEY_PEM } from './secrets.js';

// The scan itself is exercised by every file; this checks its detectors recognise what they must.
describe('secret scan detectors', () => {
  it('recognise PKCS#8, EC and RSA private key PEM headers but not public keys', () => {
    expect(PRIVATE_KEY_PEM.test('-----BEGIN PRIVATE KEY-----')).toBe(true);
    expect(PRIVATE_KEY_PEM.test('-----BEGIN EC PRIVATE KEY-----')).toBe(true);
    expect(PRIVATE_KEY_PEM.test('-----BEGIN RSA PRIVATE KEY-----')).toBe(true);
    expect(PRIVATE_KEY_PEM.test('-----BEGIN PUBLIC KEY-----')).toBe(false);
  });
});
