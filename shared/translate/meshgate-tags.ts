import { reject } from './desired-state.js';

/** The tags on mesh objects that steer translation. */
export const EXPOSE_TAG = 'meshgate:expose';
export const AUTH_TAG = 'meshgate:auth';
export const WEIGHT_ATTRIBUTE = 'meshgate:weight';
export const PATHS_TAG = 'meshgate:paths';
export const HOSTS_TAG = 'meshgate:hosts';
export const PROTOCOL_TAG = 'meshgate:protocol';
export const STRIP_PATH_TAG = 'meshgate:strip-path';

/** The tags of one object, labelled for failure reasons. */
export interface TagLayer {
  label: string;
  tags: Record<string, string>;
}

interface ResolvedTag {
  value: string;
  field: string;
  from: string;
}

/** A tag's value from the most specific layer that sets it (layers are listed most specific first). */
function resolve(layers: TagLayer[], key: string): ResolvedTag | undefined {
  for (const layer of layers) {
    const value = layer.tags[key];
    if (value !== undefined) return { value, field: `tags.${key}`, from: layer.label };
  }
  return undefined;
}

function choice<T extends string>(layers: TagLayer[], key: string, allowed: readonly T[]): T | undefined {
  const tag = resolve(layers, key);
  if (tag === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(tag.value)) {
    reject(tag.field, `${key}='${tag.value}' on ${tag.from} is not one of ${allowed.join(', ')}`);
  }
  return tag.value as T;
}

/** `meshgate:expose=false` opts an object out; it is left out without a failure. */
export function isExposed(layers: TagLayer[]): boolean {
  return choice(layers, EXPOSE_TAG, ['true', 'false']) !== 'false';
}

/** Which authentication the exposed service requires; `none` lets a route override a gateway's `jwt`. */
export function authOf(layers: TagLayer[]): 'jwt' | 'none' {
  return choice(layers, AUTH_TAG, ['jwt', 'none']) ?? 'none';
}

export function protocolOf(layers: TagLayer[]): 'http' | 'grpc' | 'https' | 'grpcs' {
  return choice(layers, PROTOCOL_TAG, ['http', 'grpc', 'https', 'grpcs']) ?? 'http';
}

export function stripPathOf(layers: TagLayer[]): boolean | undefined {
  const value = choice(layers, STRIP_PATH_TAG, ['true', 'false']);
  return value === undefined ? undefined : value === 'true';
}

/** A comma-separated list tag, with the field it came from; undefined when no layer sets it. */
export function listOf(layers: TagLayer[], key: string): { items: string[]; field: string } | undefined {
  const tag = resolve(layers, key);
  if (tag === undefined) return undefined;
  const items = tag.value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0) reject(tag.field, `${key}='${tag.value}' on ${tag.from} lists nothing`);
  return { items, field: tag.field };
}

const WEIGHT = /^\d{1,5}$/;

/** A target's weight from an instance attribute: an integer in 0..65535, 100 when absent. */
export function weightOf(attributes: Record<string, string>, field: string): number {
  const value = attributes[WEIGHT_ATTRIBUTE];
  if (value === undefined) return 100;
  const weight = Number(value);
  if (!WEIGHT.test(value) || weight > 65535) {
    reject(`${field}.attributes.${WEIGHT_ATTRIBUTE}`, `weight '${value}' is not an integer in 0..65535`);
  }
  return weight;
}
