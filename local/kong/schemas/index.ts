import { caCertificates } from './ca-certificates.js';
import { consumers } from './consumers.js';
import type { CollectionName, EntityDef } from './entity.js';
import { jwtSecrets } from './jwt-secrets.js';
import { plugins } from './plugins.js';
import { routes } from './routes.js';
import { services } from './services.js';
import { targets } from './targets.js';
import { upstreams } from './upstreams.js';

export type { CollectionName, Entity, EntityDef } from './entity.js';

/** Every entity the double stores, keyed by DAO name. */
export const entityDefs: Record<CollectionName, EntityDef> = {
  services,
  routes,
  upstreams,
  targets,
  consumers,
  jwt_secrets: jwtSecrets,
  plugins,
  ca_certificates: caCertificates,
};

export const collectionNames = Object.keys(entityDefs) as CollectionName[];
