import type { CloudMapReads } from '../../aws/cloud-map-reads.js';
import { readAws, SourceError } from '../errors.js';
import type { CloudMapServiceRef } from '../model.js';

/** An error code that means the object is gone (deleted since the event), not that the call failed. */
function isNotFound(error: unknown): boolean {
  const code = error instanceof SourceError ? error.context.code : undefined;
  return code === 'ServiceNotFound' || code === 'NamespaceNotFound';
}

/**
 * The namespace and service names of a Cloud Map service id (registration events carry only the id), or undefined
 * when the service or its namespace no longer exists. Other failures throw a SourceError.
 */
export async function resolveCloudMapService(
  client: CloudMapReads,
  serviceId: string,
  signal?: AbortSignal,
): Promise<CloudMapServiceRef | undefined> {
  try {
    const { Service } = await readAws(
      `Cloud Map GetService ${serviceId}`,
      () => client.getService({ Id: serviceId }, signal),
      signal,
    );
    if (!Service?.NamespaceId || !Service.Name) return undefined;
    const namespaceId = Service.NamespaceId;
    const { Namespace } = await readAws(
      `Cloud Map GetNamespace ${namespaceId}`,
      () => client.getNamespace({ Id: namespaceId }, signal),
      signal,
    );
    return Namespace?.Name
      ? { id: serviceId, arn: Service.Arn ?? '', namespace: Namespace.Name, service: Service.Name }
      : undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
