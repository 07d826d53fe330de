import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { errorMessage } from '../errors.js';
import { SourceError } from './errors.js';

/**
 * The mesh CA certificate (PEM) from its secret. A failed read throws: translating without the CA would drop
 * verification from every https service and delete the CA from Kong, so an unreadable CA is never taken as none.
 */
export async function readMeshCa(sm: SecretsManagerClient, secretArn: string): Promise<string> {
  try {
    const { SecretString } = await sm.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (!SecretString) throw new Error('the secret has no SecretString');
    return SecretString;
  } catch (error) {
    throw new SourceError(`could not read the mesh CA certificate: ${errorMessage(error)}`, {
      cause: error,
      context: { secretArn, unreachable: true },
    });
  }
}
