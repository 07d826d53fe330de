import type { ConsumerSpec } from '../consumers/model.js';
import type { MeshSnapshot } from '../sources/model.js';
import { translateAppMesh } from './appmesh.js';
import { translateCloudMap } from './cloudmap.js';
import { consumerFor, consumerObject, jwtCredentialFor } from './consumers.js';
import { DesiredState, reject, sortedBy, type TranslationResult } from './desired-state.js';
import type { TranslateOptions } from './exposure.js';
import { addJwksRoute, addMeshCa } from './jwks.js';

export { consumerFor, consumerObject, jwtCredentialFor } from './consumers.js';
export type { TranslationFailure, TranslationResult } from './desired-state.js';
export { JWT_PLUGIN_CONFIG, opentelemetryConfig, TRACING_OFF, type TranslateOptions } from './exposure.js';
export {
  JWKS_ENTITY_NAME,
  type JwksDocument,
  jwkOf,
  jwksOf,
  jwksPluginId,
  jwksTerminationConfig,
  sortedJwks,
} from './jwks.js';
export { type TranslateSettings, translateOptions } from './options.js';
export { isWithin, objectOfReadFailure, objectOfTags, objectTag } from './provenance.js';

export interface TranslateInput {
  mesh: MeshSnapshot;
  consumers: ConsumerSpec[];
  options: TranslateOptions;
  /** Consumers that could not be read: the edge JWKS keeps what it has rather than drop their keys. */
  unreadConsumers?: readonly string[];
}

/**
 * Mesh snapshot and consumer specs in, desired Kong state out. Pure and partial: a source object that cannot be
 * translated becomes a failure naming the object, field and value, and is left out; everything else is produced.
 * Objects are visited in sorted order (App Mesh, then Cloud Map, then consumers), so the output — including which
 * of two colliding objects wins — does not depend on the order of the input arrays.
 */
export function translate(input: TranslateInput): TranslationResult {
  const state = new DesiredState();
  addMeshCa(state, input.options);
  translateAppMesh(state, input.mesh, input.options);
  translateCloudMap(state, input.mesh.cloudMapServices, input.options);
  translateConsumers(state, input.consumers, input.options.instance);
  addJwksRoute(state, input.options, input.consumers, input.unreadConsumers);
  return state.result();
}

function translateConsumers(state: DesiredState, specs: readonly ConsumerSpec[], instance: string): void {
  const usernamesByRole = new Map<string, string>();
  for (const spec of sortedBy(specs, (s) => s.username)) {
    const object = consumerObject(spec.username);
    const added = state.add(object, () => {
      if (spec.username === '') reject('username', 'username is empty');
      // Kong keeps custom_id unique too.
      const holder = spec.iamRole === undefined ? undefined : usernamesByRole.get(spec.iamRole);
      if (holder !== undefined)
        reject('iamRole', `IAM role '${spec.iamRole}' is already the custom_id of consumer '${holder}'`);
      return [{ kind: 'consumer', key: spec.username, entity: consumerFor(instance, spec) }];
    });
    if (!added) continue;
    if (spec.iamRole !== undefined) usernamesByRole.set(spec.iamRole, spec.username);
    // One credential per live key; a kid is unique across all consumers, so a clash leaves out that key only.
    for (const key of sortedBy(spec.keys, (k) => k.kid)) {
      state.add(object, () => [{ kind: 'jwt', key: key.kid, entity: jwtCredentialFor(instance, spec.username, key) }]);
    }
  }
}
