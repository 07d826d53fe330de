import type { PluginSchema } from './plugin.js';

/** kong/plugins/correlation-id/schema.lua */
export const correlationIdPlugin: PluginSchema = {
  name: 'correlation-id',
  priority: 100001,
  httpOnly: true,
  noConsumer: false,
  config: {
    type: 'record',
    required: true,
    fields: {
      header_name: { type: 'string', default: 'Kong-Request-ID' },
      generator: {
        type: 'string',
        required: true,
        default: 'uuid#counter',
        one_of: ['uuid', 'uuid#counter', 'tracker'],
      },
      echo_downstream: { type: 'boolean', required: true, default: false },
    },
  },
};
