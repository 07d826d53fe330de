import { describe, expect, it } from 'vitest';
import { generateKey } from '../../shared/consumers/keys.js';
import type { JwtCredential } from '../../shared/kong/entities.js';
import { signToken, verifyLikeKong } from '../../shared/tokens/jwt.js';

/** A Kong JWT credential for `kid` holding `publicKeyPem`. */
function credential(kid: string, publicKeyPem: string): JwtCredential {
  return { id: kid, key: kid, algorithm: 'ES256', rsa_public_key: publicKeyPem } as JwtCredential;
}

describe('keys imported once per process', () => {
  it('a PEM names its own key whatever the kid: a token verifies only against the key that signed it', async () => {
    const signer = await generateKey('alice', '11111111-1111-1111-1111-111111111111', 'ES256');
    const other = await generateKey('alice', '22222222-2222-2222-2222-222222222222', 'ES256');
    // Signed and verified again: the second time both keys come from the process's imports.
    for (let round = 0; round < 2; round += 1) {
      const token = await signToken(signer, { ttlSeconds: 60 });
      await expect(verifyLikeKong(token, async (kid) => credential(kid, signer.publicKeyPem))).resolves.toMatchObject({
        key: signer.kid,
      });
      await expect(verifyLikeKong(token, async (kid) => credential(kid, other.publicKeyPem))).rejects.toThrow(
        'Invalid signature',
      );
    }
  });

  it('keys read back from their PEMs (another process generated them) sign and verify the same', async () => {
    const generated = await generateKey('bob', '33333333-3333-3333-3333-333333333333', 'ES256');
    // Re-wrapped PEM lines: the same key, a different text, so imported rather than remembered.
    const rewrapped = {
      ...generated,
      privateKeyPem: generated.privateKeyPem.replace(/\n/g, '\r\n'),
      publicKeyPem: generated.publicKeyPem.replace(/\n/g, '\r\n'),
    };
    const token = await signToken(rewrapped, { ttlSeconds: 60 });
    await expect(verifyLikeKong(token, async (kid) => credential(kid, rewrapped.publicKeyPem))).resolves.toBeDefined();
  });
});
