import { createPublicKey } from 'node:crypto';
import type { ConsumerKey, ConsumerSpec } from '../consumers/model.js';
import { normalizeEntity } from '../kong/entities.js';
import { entityId } from '../kong/ownership.js';
import { compareStrings, type DesiredState, entityTags, reject } from './desired-state.js';
import { MESH_CA_KEY, meshCaId, type TranslateOptions } from './exposure.js';
import { checkPrefixPath, escapeRegex } from './kong-values.js';

/** One public key as RFC 7517 describes it, with the members JWT verifiers look for. */
export interface Jwk {
  kid: string;
  kty: string;
  alg: string;
  use: 'sig';
  [member: string]: string;
}

export interface JwksDocument {
  keys: Jwk[];
}

/** Name of the Kong service and route that answer the JWKS at the edge. */
export const JWKS_ENTITY_NAME = 'meshgate-jwks';
export const JWKS_MEDIA_TYPE = 'application/jwk-set+json';

/**
 * The JWKS of every consumer key that Kong accepts (current, pending and in-grace: exactly the keys that have a
 * credential), sorted by kid so the same keys always give the same bytes. Pure.
 */
export function jwksOf(consumers: readonly ConsumerSpec[]): JwksDocument {
  return { keys: sortedJwks(consumers.flatMap((consumer) => consumer.keys.map(jwkOf))) };
}

/**
 * JWKs derived in this process, by kid, algorithm and PEM: a warm function derives each key once, not at every sync
 * (parsing a PEM and exporting it costs ≈ 0.2 ms a key, ≈ 40 ms a sync at 100 consumers). Bounded: emptied when full.
 */
const derivedJwks = new Map<string, Readonly<Jwk>>();
const MAX_DERIVED_JWKS = 10_000;

/** One public key (SPKI PEM) as a JWK with its kid, algorithm and `use: sig`. Pure (the JWK is shared: never mutate it). */
export function jwkOf(key: Pick<ConsumerKey, 'kid' | 'alg' | 'publicKeyPem'>): Jwk {
  const cacheKey = `${key.kid}\n${key.alg}\n${key.publicKeyPem}`;
  let jwk = derivedJwks.get(cacheKey);
  if (jwk === undefined) {
    const exported = createPublicKey(key.publicKeyPem).export({ format: 'jwk' }) as Record<string, string>;
    jwk = Object.freeze({ ...exported, kid: key.kid, kty: String(exported.kty), alg: key.alg, use: 'sig' as const });
    if (derivedJwks.size >= MAX_DERIVED_JWKS) derivedJwks.clear();
    derivedJwks.set(cacheKey, jwk);
  }
  return jwk as Jwk;
}

/** Kid order: the same keys always serialize to the same body, whoever wrote it (sync or rotation). */
export function sortedJwks(keys: Jwk[]): Jwk[] {
  return [...keys].sort((a, b) => compareStrings(a.kid, b.kid));
}

/** request-termination config answering the JWKS, every field as Kong returns it. */
export function jwksTerminationConfig(document: JwksDocument) {
  return {
    status_code: 200,
    message: null,
    content_type: JWKS_MEDIA_TYPE,
    body: JSON.stringify(document),
    echo: false,
    trigger: null,
  };
}

export const jwksPluginId = (instance: string) =>
  entityId(instance, 'plugin', `request-termination@${JWKS_ENTITY_NAME}`);

/**
 * The edge JWKS: a route on exactly `path` (GET/HEAD) whose request-termination plugin answers the document; its
 * service is never called, so its host is a reserved name that cannot resolve.
 */
export function addJwksRoute(
  state: DesiredState,
  options: TranslateOptions,
  consumers: readonly ConsumerSpec[],
  unreadConsumers: readonly string[] = [],
): void {
  const path = options.jwksPath;
  if (path === undefined) return;
  state.add(`jwks:${path}`, () => {
    checkPrefixPath(path, 'jwksPath');
    // Failure is not absence: a document without an unread consumer's keys would refuse its tokens in the mesh.
    if (unreadConsumers.length > 0) {
      reject('keys', `kept as it is: ${unreadConsumers.join(', ')} could not be read`);
    }
    let document: JwksDocument;
    try {
      document = jwksOf(consumers);
    } catch (error) {
      return reject('keys', `a public key could not be read as a JWK: ${String(error)}`);
    }
    const tags = entityTags(options.instance, 'secretsmanager');
    const service = normalizeEntity('service', {
      id: entityId(options.instance, 'service', JWKS_ENTITY_NAME),
      name: JWKS_ENTITY_NAME,
      host: 'jwks.meshgate.invalid',
      protocol: 'http',
      port: 80,
      tags,
    });
    const route = normalizeEntity('route', {
      id: entityId(options.instance, 'route', JWKS_ENTITY_NAME),
      name: JWKS_ENTITY_NAME,
      service: { id: service.id },
      protocols: ['http', 'https'],
      methods: ['GET', 'HEAD'],
      paths: [`~${escapeRegex(path)}$`],
      strip_path: false,
      tags,
    });
    const plugin = normalizeEntity('plugin', {
      id: jwksPluginId(options.instance),
      name: 'request-termination',
      route: { id: route.id },
      config: jwksTerminationConfig(document),
      tags,
    });
    return [
      { kind: 'service', key: JWKS_ENTITY_NAME, entity: service },
      { kind: 'route', key: JWKS_ENTITY_NAME, entity: route },
      { kind: 'plugin', key: `request-termination@${JWKS_ENTITY_NAME}`, entity: plugin },
    ];
  });
}

const PEM_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*$/;

/** The mesh CA as an owned Kong CA certificate; a value that is not one PEM certificate is a failure. */
export function addMeshCa(state: DesiredState, options: TranslateOptions): void {
  const pem = options.meshCaCertificate;
  if (pem === undefined) return;
  state.add('secretsmanager:mesh-ca', () => {
    if (!PEM_CERTIFICATE.test(pem)) reject('meshCaCertificate', 'the mesh CA is not one PEM certificate');
    const entity = normalizeEntity('ca_certificate', {
      id: meshCaId(options.instance),
      cert: pem,
      tags: entityTags(options.instance, 'secretsmanager'),
    });
    return [{ kind: 'ca_certificate', key: MESH_CA_KEY, entity }];
  });
}
