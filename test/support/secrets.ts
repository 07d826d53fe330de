/**
 * Secret values the suite uses. The secret scan (test/support/secret-scan.ts) fails any test file whose output
 * contains one of them, or any private-key PEM.
 */
export const TEST_ADMIN_TOKEN = 'kong-admin-token-5f2c9e1d7a';
export const TEST_ROTATION_TOKEN = 'EXAMPLE-rotation-token-opaque-value';

export const KNOWN_SECRETS = [TEST_ADMIN_TOKEN, TEST_ROTATION_TOKEN];
export const PRIVATE_KEY_PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
