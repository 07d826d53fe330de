export { currentKeyAgeSeconds } from './age.js';
export { addConsumer, consumerSecretName, readConsumers } from './consumers.js';
export { consumerFor, jwtCredentialFor } from './credentials.js';
export { type RotationDeps, type RotationLogger, silentLogger } from './deps.js';
export { RotationError } from './errors.js';
export { signToken, verifyLikeKong } from './jwt.js';
export { generateKey, type KeyAlgorithm, type KeySecret, KeySecretSchema, kidFor } from './keys.js';
export {
  type RepublishResult,
  republishPublicKeys,
  republishUnderLease,
} from './public-keys.js';
export { type RollbackKeyResult, rollbackKey } from './rollback.js';
export { DEFAULT_ROTATION_DAYS, dueDate, startDueRotations, startRotation } from './schedule.js';
export { MESHGATE_REVOKED } from './secrets.js';
export { ROTATION_STEPS, type RotationEvent, type RotationStep, rotateStep, type StepOutcome } from './steps.js';
export { mintToken } from './token.js';
