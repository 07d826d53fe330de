/**
 * Which source object each Kong entity came from, recorded as a tag on the entity. A source object that cannot be
 * read or translated in one run is not absent from the mesh: the entities it produced before are found in the
 * dump by this tag and kept (as KIC keeps its last good configuration), instead of being deleted as if the object
 * were gone.
 *
 * Object names are hierarchical with `/` (`appmesh:mesh/gateway/route`, `cloudmap:namespace/service`,
 * `…/instances/<id>`, `consumer:<name>`); Kong tags may not hold `/` or `,`, so those (and `%`) are percent-encoded.
 */

export const OBJECT_TAG_PREFIX = 'meshgate:object=';

export function objectTag(object: string): string {
  return `${OBJECT_TAG_PREFIX}${object.replace(/[%/,]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/** The source object an entity's tags name; undefined for entities written before objects were recorded. */
export function objectOfTags(tags: readonly string[] | null | undefined): string | undefined {
  const tag = tags?.find((candidate) => candidate.startsWith(OBJECT_TAG_PREFIX));
  if (tag === undefined) return undefined;
  try {
    return decodeURIComponent(tag.slice(OBJECT_TAG_PREFIX.length));
  } catch {
    return undefined;
  }
}

/** Whether `object` is `ancestor` or lies under it (a mesh holds its gateways, a gateway its routes and instances). */
export function isWithin(object: string, ancestor: string): boolean {
  return object === ancestor || object.startsWith(`${ancestor}/`);
}

/** Adds the object tag to a tag set that has none, keeping the set sorted. */
export function withObjectTag(tags: readonly string[] | null | undefined, object: string): string[] {
  const current = tags ?? [];
  if (current.some((tag) => tag.startsWith(OBJECT_TAG_PREFIX))) return [...current];
  return [...current, objectTag(object)].sort();
}

/**
 * The translation object a source's read failure stands for. A failed listing (a mesh, a namespace) stands for
 * everything under it; a failed virtual service needs no mapping, since the routes to it fail translation.
 */
export function objectOfReadFailure(failure: { source: string; object: string; absent?: boolean }): string | undefined {
  if (failure.absent) return undefined;
  const parts = failure.object.split('/');
  if (failure.source === 'appmesh' && parts[0] === 'mesh' && parts[1] !== undefined) {
    const mesh = parts[1];
    if (parts.length === 2) return `appmesh:${mesh}`;
    if (parts[2] === 'virtualGateway' && parts[3] !== undefined) {
      if (parts.length === 4) return `appmesh:${mesh}/${parts[3]}`;
      if (parts[4] === 'gatewayRoute' && parts[5] !== undefined) return `appmesh:${mesh}/${parts[3]}/${parts[5]}`;
    }
    return undefined;
  }
  if (failure.source === 'cloudmap' && parts[0] === 'namespace' && parts[1] !== undefined) {
    if (parts.length === 2) return `cloudmap:${parts[1]}`;
    if (parts[2] === 'service' && parts[3] !== undefined) return `cloudmap:${parts[1]}/${parts[3]}`;
  }
  return undefined;
}
