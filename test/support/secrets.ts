/**
 * Secret values the suite uses. The secret scan (test/support/secret-scan.ts) fails any test file whose output
 * contains one of them, or any private-key PEM.
 */
export const TEST_ADMIN_TOKEN = 'kong-admin-token-5f2c9e1d7a';
export const TEST_ROTATION_TOKEN = 'EXAMPLE-rotation-token-opaque-value';

const KNOWN_SECRETS = [TEST_ADMIN_TOKEN, TEST_ROTATION_TOKEN];
const PRIVATE_KEY_PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** What in `text` is secret material, described without repeating it. */
export function findLeaks(text: string): string[] {
  const leaks: string[] = [];
  if (PRIVATE_KEY_PEM.test(text)) leaks.push('a private key PEM');
  for (const secret of KNOWN_SECRETS) if (text.includes(secret)) leaks.push(`the test secret ${secret.slice(0, 6)}…`);
  return leaks;
}
