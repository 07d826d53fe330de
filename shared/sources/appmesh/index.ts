export { CLOUDMAP_SERVICE_TAG, DNS_ENDPOINT_TAG, discoveryFromTags, toGateway, toGatewayRoute } from './normalize.js';
export { APP_MESH_SOURCE, AppMeshSource, type AppMeshSourceOptions } from './source.js';
