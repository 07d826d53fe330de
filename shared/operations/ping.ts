import type { Config } from '../config/index.js';
import type { ConfiguredKong } from '../kong/admin-token.js';

/** What `meshgate doctor --remote` learns from the function: it reached the Admin API with its token. */
export interface KongPing {
  adminUrl: string;
  version: string;
  /** Kong's `configuration.database`: `postgres`, or `off` for a DB-less node. */
  database: string;
}

/**
 * Reaches the Admin API the way every other operation does (the function's network, its admin token) and reports
 * Kong's version and database mode. Read-only.
 */
export async function pingKong(kong: ConfiguredKong, config: Pick<Config, 'KONG_ADMIN_URL'>): Promise<KongPing> {
  const version = await kong.version();
  const database = (await kong.database()) ?? 'unknown';
  return { adminUrl: config.KONG_ADMIN_URL, version, database };
}
