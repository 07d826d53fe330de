import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../shared/events/audit.js';

describe('redactSecrets', () => {
  it('redacts secret-named keys at any depth and private-key PEMs anywhere, keeping the rest', () => {
    const pem =
      '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----';
    const detail = {
      consumer: 'alice',
      kid: 'alice-1',
      errors: [{ message: `bad key ${pem}` }],
      nested: { RotationToken: 'opaque', privateKeyPem: pem, adminToken: 't0ken', publicKeyPem: 'PUBLIC' },
    };
    expect(redactSecrets(detail)).toEqual({
      consumer: 'alice',
      kid: 'alice-1',
      errors: [{ message: '[redacted]' }],
      nested: {
        RotationToken: '[redacted]',
        privateKeyPem: '[redacted]',
        adminToken: '[redacted]',
        publicKeyPem: 'PUBLIC',
      },
    });
  });
});
