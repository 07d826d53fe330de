export {
  type ConfiguredKong,
  kongClientFromConfig,
  resolveAdminToken,
  tokenFromSecretString,
} from './admin-token.js';
export type { KongApi } from './api.js';
export { KongClient, type KongClientOptions } from './client.js';
export { KongError } from './errors.js';
export { checkAdminUrl, type RequestInfo, type RetryOptions } from './http.js';
