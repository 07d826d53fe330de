export { currentKeyAgeSeconds } from './age.js';
export { consumerFor, jwtCredentialFor } from './credentials.js';
export { RotationError } from './errors.js';
export { generateKey, type KeyAlgorithm, type KeySecret, KeySecretSchema, kidFor } from './keys.js';
export {
  type RepublishResult,
  republishPublicKeys,
  republishUnderLease,
} from './public-keys.js';
export { addConsumer, consumerSecretName, readConsumers } from './registry.js';
export { MESHGATE_REVOKED } from './secrets.js';
