import { MeshgateError } from '../errors.js';

/**
 * Any failure of key rotation, rollback, consumer creation or token minting. `context` names the consumer, the
 * step and the secret; never key material or the RotationToken.
 */
export class RotationError extends MeshgateError {}
