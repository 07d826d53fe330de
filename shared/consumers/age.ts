import type { ConsumerSpec } from './model.js';
import { AWSCURRENT } from './secrets.js';

/** How old a consumer's AWSCURRENT key is, in seconds; undefined when it has none. */
export function currentKeyAgeSeconds(consumer: ConsumerSpec, now: Date): number | undefined {
  const current = consumer.keys.find((key) => key.stages.includes(AWSCURRENT));
  return current ? Math.max(0, Math.round((now.getTime() - Date.parse(current.createdAt)) / 1000)) : undefined;
}
