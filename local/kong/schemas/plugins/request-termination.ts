import { headerName } from '../typedefs.js';
import type { PluginSchema } from './plugin.js';

const present = (value: unknown) => typeof value === 'string' && value.length > 0;

/** kong/plugins/request-termination/schema.lua, its custom_validator included. */
export const requestTerminationPlugin: PluginSchema = {
  name: 'request-termination',
  priority: 2,
  httpOnly: true,
  noConsumer: false,
  config: {
    type: 'record',
    required: true,
    fields: {
      status_code: { type: 'integer', required: true, default: 503, between: [100, 599] },
      message: { type: 'string' },
      content_type: { type: 'string' },
      body: { type: 'string' },
      echo: { type: 'boolean', required: true, default: false },
      trigger: headerName,
    },
    check: ((config: Record<string, unknown>) => {
      if (present(config.message) && (present(config.content_type) || present(config.body)))
        return 'message cannot be used with content_type or body';
      if (present(config.content_type) && !present(config.body)) return 'content_type requires a body';
      if (config.echo === true && (present(config.content_type) || present(config.body)))
        return 'echo cannot be used with content_type and body';
      return undefined;
    }) as (value: never) => string | undefined,
  },
};
