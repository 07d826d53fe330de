export { type DiscoveredEndpoints, discoverEndpoints, toEndpoint } from './endpoints.js';
export { resolveCloudMapService } from './resolve.js';
export { CLOUD_MAP_SOURCE, CloudMapSource, type CloudMapSourceOptions, EXPOSE_KEY } from './source.js';
