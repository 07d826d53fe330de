import { atLeastOneOf, type Field } from '../fields.js';
import { headerName, url } from '../typedefs.js';
import type { PluginSchema } from './plugin.js';

const EXTRACTORS = ['w3c', 'b3', 'jaeger', 'ot', 'datadog', 'aws', 'gcp'];
const INJECTORS = [...EXTRACTORS, 'b3-single', 'preserve'];
const formats = (values: string[]): Field => ({ type: 'array', elements: { type: 'string', one_of: values } });
const msTimeout = (value: number): Field => ({ type: 'integer', default: value, between: [0, 2 ** 31 - 2] });

/** kong/tools/queue_schema.lua */
const queue: Field = {
  type: 'record',
  required: true,
  fields: {
    max_batch_size: { type: 'integer', default: 200, between: [1, 1_000_000] },
    max_coalescing_delay: { type: 'number', default: 1, between: [0, 3600] },
    max_entries: { type: 'integer', default: 10000, between: [1, 1_000_000] },
    max_bytes: { type: 'integer' },
    max_retry_time: { type: 'number', default: 60 },
    initial_retry_delay: { type: 'number', default: 0.01, between: [0.001, 1_000_000] },
    max_retry_delay: { type: 'number', default: 60, between: [0.001, 1_000_000] },
    concurrency_limit: { type: 'integer', default: 1, one_of: [-1, 1] },
  },
};

/** kong/plugins/opentelemetry/schema.lua */
export const opentelemetryPlugin: PluginSchema = {
  name: 'opentelemetry',
  priority: 14,
  httpOnly: true,
  noConsumer: false,
  config: {
    type: 'record',
    required: true,
    fields: {
      traces_endpoint: url,
      logs_endpoint: url,
      headers: { type: 'map', keys: headerName, values: { type: 'string' } },
      resource_attributes: { type: 'map', keys: { type: 'string' }, values: { type: 'string' } },
      queue,
      batch_span_count: { type: 'integer' },
      batch_flush_delay: { type: 'integer' },
      connect_timeout: msTimeout(1000),
      send_timeout: msTimeout(5000),
      read_timeout: msTimeout(5000),
      http_response_header_for_traceid: { type: 'string' },
      header_type: {
        type: 'string',
        required: false,
        default: 'preserve',
        one_of: ['preserve', 'ignore', 'b3', 'b3-single', 'w3c', 'jaeger', 'ot', 'aws', 'gcp', 'datadog'],
      },
      sampling_rate: { type: 'number', between: [0, 1] },
      propagation: {
        type: 'record',
        required: true,
        fields: {
          extract: formats(EXTRACTORS),
          clear: { type: 'array', elements: { type: 'string' } },
          inject: formats(INJECTORS),
          default_format: {
            type: 'string',
            required: true,
            default: 'w3c',
            one_of: INJECTORS.filter((f) => f !== 'preserve'),
          },
        },
      },
    },
    entity_checks: [atLeastOneOf(['traces_endpoint', 'logs_endpoint'])],
  },
  expandConfig: (config) => {
    if (config.endpoint === undefined) return config;
    const { endpoint, ...rest } = config;
    return { ...rest, traces_endpoint: endpoint };
  },
};
