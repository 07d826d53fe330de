import { conditional, type Fields } from '../fields.js';
import type { PluginSchema } from './plugin.js';

const strings = (defaults: string[] | undefined): Fields[string] => ({
  type: 'set',
  elements: { type: 'string' },
  ...(defaults ? { default: defaults } : {}),
});

/** kong/plugins/jwt/schema.lua */
export const jwtPlugin: PluginSchema = {
  name: 'jwt',
  priority: 1450,
  httpOnly: true,
  noConsumer: true,
  config: {
    type: 'record',
    required: true,
    fields: {
      uri_param_names: strings(['jwt']),
      cookie_names: strings([]),
      key_claim_name: { type: 'string', default: 'iss' },
      secret_is_base64: { type: 'boolean', required: true, default: false },
      claims_to_verify: { type: 'set', elements: { type: 'string', one_of: ['exp', 'nbf'] } },
      anonymous: { type: 'string' },
      run_on_preflight: { type: 'boolean', required: true, default: true },
      maximum_expiration: { type: 'number', default: 0, between: [0, 31536000] },
      header_names: strings(['authorization']),
      realm: { type: 'string' },
    },
    entity_checks: [
      conditional(
        'maximum_expiration',
        (value) => typeof value === 'number' && value > 0,
        'claims_to_verify',
        (value) => (Array.isArray(value) && value.includes('exp') ? undefined : 'expected to contain: exp'),
      ),
    ],
  },
};
