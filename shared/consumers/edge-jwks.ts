import type { KongApi } from '../kong/api.js';
import type { Plugin } from '../kong/entities.js';
import { isOwned } from '../kong/ownership.js';
import { type JwksDocument, jwkOf, jwksPluginId, jwksTerminationConfig, sortedJwks } from '../translate/index.js';
import { RotationError } from './errors.js';
import type { ConsumerKey } from './model.js';

/**
 * Keeps the edge JWKS (the request-termination body meshSync writes) in step with a credential change made outside
 * a sync: keys added (a pending key, a restored key) and kids dropped (retired, revoked, a failed rotation's
 * pending key). The document is rebuilt as translate builds it, so the next sync finds nothing to change. Does
 * nothing while no sync has written the route (or JWKS_PATH=off). `known`: the plugin as this writer read or wrote
 * it earlier under the same lease (null: there is none), instead of reading it again. Returns the plugin as left.
 */
export async function refreshEdgeJwks(
  kong: KongApi,
  instance: string,
  change: { add?: readonly ConsumerKey[]; drop?: readonly string[] },
  known?: Plugin | null,
): Promise<Plugin | null> {
  const plugin = known === undefined ? await kong.get('plugin', jwksPluginId(instance)) : known;
  if (!plugin) return null;
  if (!isOwned(plugin, instance)) {
    throw new RotationError(`Kong plugin ${plugin.id} exists but is not managed by meshgate instance '${instance}'`, {
      context: { kind: 'plugin', id: plugin.id, instance },
    });
  }
  const current = parseDocument(plugin.config.body);
  const added = (change.add ?? []).map(jwkOf);
  const replaced = new Set([...(change.drop ?? []), ...added.map((key) => key.kid)]);
  const document: JwksDocument = {
    keys: sortedJwks([...current.keys.filter((key) => !replaced.has(key.kid)), ...added]),
  };
  const config = jwksTerminationConfig(document);
  if (config.body === plugin.config.body) return plugin;
  const refreshed = { ...plugin, config: { ...plugin.config, ...config } };
  await kong.upsert('plugin', refreshed);
  return refreshed;
}

function parseDocument(body: unknown): JwksDocument {
  try {
    const parsed = JSON.parse(String(body)) as JwksDocument;
    return Array.isArray(parsed.keys) ? parsed : { keys: [] };
  } catch {
    // A body that is not a JWKS is rebuilt from the change alone; the next sync restores every consumer's keys.
    return { keys: [] };
  }
}
