import { kongErrors } from './errors.js';
import type { Route } from './router.js';
import { isPlainObject } from './schemas/fields.js';

/**
 * What an older Kong (3.4 LTS to 3.8) refuses or returns differently, for the fields meshgate writes; the double
 * otherwise serves Kong 3.9.3's schemas. Read from Kong/kong's tags: the jwt plugin's `realm` arrived in 3.8
 * (kong/plugins/jwt/schema.lua); ES512, PS256/384/512 and EdDSA credentials in 3.7 (kong/plugins/jwt/daos.lua).
 */
export interface VersionGate {
  /** Throws Kong's schema violation for a write this version refuses. */
  checkWrite(route: Route, body: Record<string, unknown>): void;
  /** The reply body as this version returns it. */
  reply(body: unknown): unknown;
}

const ALGORITHMS_BEFORE_3_7 = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384'];

function minor(version: string): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(version);
  return match ? [Number(match[1]), Number(match[2])] : [3, 9];
}

export function versionGate(version: string): VersionGate | undefined {
  const [major, min] = minor(version);
  const before = (m: number) => major < 3 || (major === 3 && min < m);
  if (!before(8)) return undefined;
  const noRealm = before(8);
  const oldAlgorithms = before(7);
  const stripRealm = (entity: unknown) => {
    if (!noRealm || !isPlainObject(entity) || entity.name !== 'jwt' || !isPlainObject(entity.config)) return entity;
    const { realm: _realm, ...config } = entity.config;
    return { ...entity, config };
  };
  return {
    checkWrite(route, body) {
      const collection = route.kind === 'collection' || route.kind === 'entity' ? route.def.name : undefined;
      if (collection === 'plugins' && noRealm && isPlainObject(body.config) && 'realm' in body.config)
        throw kongErrors.schemaViolation({ config: { realm: 'unknown field' } });
      if (
        collection === 'jwt_secrets' &&
        oldAlgorithms &&
        typeof body.algorithm === 'string' &&
        !ALGORITHMS_BEFORE_3_7.includes(body.algorithm)
      )
        throw kongErrors.schemaViolation({ algorithm: `expected one of: ${ALGORITHMS_BEFORE_3_7.join(', ')}` });
    },
    reply(body) {
      if (!noRealm || !isPlainObject(body)) return body;
      if (Array.isArray(body.data)) return { ...body, data: body.data.map(stripRealm) };
      return stripRealm(body);
    },
  };
}
