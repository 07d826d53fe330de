import { escapeControl } from '../text.js';

/**
 * EventBridge refuses a PutEvents entry over 256 KB (Source, DetailType, Detail and Resources counted in UTF-8
 * bytes). An audit detail echoes values from the mesh (object names, reasons quoting tag values) that an attacker
 * can make long; a refused audit event after Kong was written would leave the run unaudited. So every detail is
 * bounded before it is sent: strings escaped and shortened, long lists cut with a count of what was cut, and both
 * tightened until the entry fits. Pure.
 */
export const EVENTBRIDGE_ENTRY_LIMIT_BYTES = 256 * 1024;

// Room for Source, DetailType and the bus name, which the caller adds.
const HEADROOM_BYTES = 2 * 1024;

interface Caps {
  string: number;
  items: number;
}

function boundValue(value: unknown, caps: Caps): unknown {
  if (typeof value === 'string') {
    const escaped = escapeControl(value);
    return escaped.length <= caps.string
      ? escaped
      : `${escaped.slice(0, caps.string)}… (${escaped.length - caps.string} more characters)`;
  }
  if (Array.isArray(value)) {
    const kept = value.slice(0, caps.items).map((item) => boundValue(item, caps));
    return value.length > caps.items ? [...kept, `… and ${value.length - caps.items} more`] : kept;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [escapeControl(key).slice(0, 200), boundValue(item, caps)]),
    );
  }
  return value;
}

/** `detail` as JSON that fits an EventBridge entry with `limitBytes` (default: the service's limit). */
export function boundedDetailJson(detail: unknown, limitBytes = EVENTBRIDGE_ENTRY_LIMIT_BYTES): string {
  const budget = limitBytes - HEADROOM_BYTES;
  let caps: Caps = { string: 2000, items: 500 };
  for (;;) {
    const json = JSON.stringify(boundValue(detail, caps));
    if (Buffer.byteLength(json, 'utf8') <= budget || (caps.string <= 16 && caps.items <= 1)) return json;
    caps = { string: Math.max(16, Math.floor(caps.string / 2)), items: Math.max(1, Math.floor(caps.items / 2)) };
  }
}
