import { KongError } from './errors.js';

/**
 * The Kong versions meshgate supports (3.4 LTS to 3.9) and what differs among them for the entities and fields it
 * writes. Pure: the client asks before a write and after a read.
 */
export const SUPPORTED_KONG_VERSIONS = { min: [3, 4], max: [3, 9] } as const;

export interface KongVersion {
  major: number;
  minor: number;
  /** As `GET /` answered it: "3.9.3", "3.4.3.12-enterprise-edition", … */
  raw: string;
}

/** `major.minor` out of Kong's version string (OSS `3.9.3`, Enterprise `3.4.3.12-enterprise-edition`). */
export function parseKongVersion(raw: string): KongVersion {
  const match = /^(\d+)\.(\d+)/.exec(raw.trim());
  if (!match) throw new KongError(`Kong answered version '${raw}', which is not a version number`, versionContext);
  return { major: Number(match[1]), minor: Number(match[2]), raw };
}

const versionContext = { method: 'GET', path: '/' };

const atLeast = (version: KongVersion, major: number, minor: number) =>
  version.major > major || (version.major === major && version.minor >= minor);

/** Refuses a Kong outside 3.4–3.9: its schemas differ in ways meshgate has not been checked against. */
export function checkSupported(version: KongVersion): void {
  const [minMajor, minMinor] = SUPPORTED_KONG_VERSIONS.min;
  const [maxMajor, maxMinor] = SUPPORTED_KONG_VERSIONS.max;
  if (atLeast(version, minMajor, minMinor) && !atLeast(version, maxMajor, maxMinor + 1)) return;
  throw new KongError(
    `Kong ${version.raw} is not supported: meshgate supports Kong ${minMajor}.${minMinor} to ${maxMajor}.${maxMinor}`,
    versionContext,
  );
}

/** JWT algorithms a Kong version's jwt plugin accepts among those meshgate signs with (EdDSA came in 3.7). */
export function supportsJwtAlgorithm(version: KongVersion, algorithm: string): boolean {
  return algorithm !== 'EdDSA' || atLeast(version, 3, 7);
}

type Body = Record<string, unknown>;

/**
 * A plugin body as the node accepts it: the jwt plugin's `realm` arrived in 3.8, and an older node refuses the
 * field outright ("unknown field") even when it is null. meshgate only ever writes `realm: null`, so dropping it
 * loses nothing; a non-null realm cannot be expressed before 3.8 and is refused here by name.
 */
export function pluginBodyFor(version: KongVersion, body: Body): Body {
  if (body.name !== 'jwt' || atLeast(version, 3, 8)) return body;
  const config = body.config as Body | undefined;
  if (!config || !('realm' in config)) return body;
  if (config.realm !== null && config.realm !== undefined)
    throw new KongError(`the jwt plugin's realm needs Kong 3.8 or later; this node runs ${version.raw}`, {
      method: 'PUT',
      path: '/plugins',
    });
  const { realm: _realm, ...rest } = config;
  return { ...body, config: rest };
}

/** Whether a plugin body's shape depends on the node's version (a jwt plugin that spells out `realm`). */
export function needsVersionForPlugin(body: Body): boolean {
  const config = body.config as Body | null | undefined;
  return body.name === 'jwt' && typeof config === 'object' && config !== null && 'realm' in config;
}

/**
 * A plugin read from any supported node in the shape Kong 3.9 returns, so diffs do not depend on the version:
 * before 3.8 the jwt plugin has no `realm`, which is the same as 3.9's default null.
 */
export function pluginAsLatest(plugin: unknown): unknown {
  const body = plugin as Body | null;
  if (body?.name !== 'jwt') return plugin;
  const config = body.config as Body | null | undefined;
  if (!config || typeof config !== 'object' || 'realm' in config) return plugin;
  return { ...body, config: { ...config, realm: null } };
}
