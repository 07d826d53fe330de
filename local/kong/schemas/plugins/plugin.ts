import type { Field } from '../fields.js';

/** What the double knows of one bundled plugin: its config schema, protocols and whether it may be per-consumer. */
export interface PluginSchema {
  name: string;
  priority: number;
  /** Undefined: config accepted as given (plugins the double does not model). */
  config?: Field;
  /** Only HTTP-family protocols (typedefs.protocols_http). */
  httpOnly: boolean;
  /** typedefs.no_consumer: `consumer` must be null. */
  noConsumer: boolean;
  /** Input shorthands inside `config` (deprecated aliases expanded, never echoed). */
  expandConfig?(config: Record<string, unknown>): Record<string, unknown>;
}
