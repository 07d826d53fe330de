import type { SecretsManagerCalls } from '../aws/secrets-manager.js';
import { errorMessage } from '../errors.js';
import { SourceError } from './errors.js';

/**
 * The mesh CA certificate (PEM) from its secret. A failed read throws: translating without the CA would drop
 * verification from every https service and delete the CA from Kong, so an unreadable CA is never taken as none.
 */
export async function readMeshCa(sm: SecretsManagerCalls, secretArn: string): Promise<string> {
  try {
    const { SecretString } = await sm.getSecretValue({ SecretId: secretArn });
    if (!SecretString) throw new Error('the secret has no SecretString');
    return SecretString;
  } catch (error) {
    throw new SourceError(`could not read the mesh CA certificate: ${errorMessage(error)}`, {
      cause: error,
      context: { secretArn, unreachable: true },
    });
  }
}
