import type { ErrorTree, ErrorValue } from '../errors.js';

/**
 * A small rendition of Kong's schema library (kong/db/schema/init.lua): typed fields with defaults, `required`,
 * `one_of`, ranges and custom checks, records with entity checks. `validateRecord` fills defaults and reports
 * errors in Kong's shape and wording, so every entity comes back with all its fields.
 */
export type FieldType = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'set' | 'map' | 'record' | 'foreign';

export interface Field {
  type: FieldType;
  required?: boolean;
  /** Value used when the field is absent (deep-copied). Records without one are built from their fields. */
  default?: unknown;
  /** Generated when absent (ids, timestamps, jwt key/secret). */
  auto?: () => unknown;
  one_of?: readonly (string | number)[];
  between?: readonly [number, number];
  /** Strings default to a minimum length of 1, as in Kong. */
  len_min?: number;
  len_max?: number;
  starts_with?: string;
  /** Custom check returning Kong's message, or undefined when the value is fine. */
  check?: (value: never) => string | undefined;
  elements?: Field;
  keys?: Field;
  values?: Field;
  fields?: Fields;
  entity_checks?: EntityCheck[];
  /** Referenced collection of a foreign field. */
  reference?: string;
  /** A record whose content is not validated (config of bundled plugins the double does not model). */
  open?: boolean;
}

export type Fields = Record<string, Field>;

/** An entity-level rule: skipped when one of `fields` already failed; returns errors to merge. */
export interface EntityCheck {
  fields: string[];
  run: (record: Record<string, unknown>) => ErrorTree | undefined;
}

export const messages = {
  required: 'required field missing',
  unknown: 'unknown field',
  uuid: 'expected a valid UUID',
  missingPrimaryKey: 'missing primary key',
  oneOf: (values: readonly unknown[]) => `expected one of: ${values.join(', ')}`,
  between: (min: number, max: number) => `value should be between ${min} and ${max}`,
  conditional: (field: string) => `failed conditional validation given value of field '${field}'`,
  atLeastOneOf: (fields: string[]) =>
    `at least one of these fields must be non-empty: ${fields.map((f) => `'${f}'`).join(', ')}`,
  distinct: (fields: string[]) => `values of these fields must be distinct: ${fields.map((f) => `'${f}'`).join(', ')}`,
  mustBe: (value: unknown) => `value must be ${value}`,
} as const;

const TYPE_MESSAGES: Record<FieldType, string> = {
  string: 'expected a string',
  integer: 'expected an integer',
  number: 'expected a number',
  boolean: 'expected a boolean',
  array: 'expected an array',
  set: 'expected a set',
  map: 'expected a map',
  record: 'expected a record',
  foreign: 'expected a record',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface ValidateOptions {
  /** Values came from a form body: strings are coerced to the field's type, as Kong does. */
  form?: boolean;
  /** Fields of a foreign field's referenced entity, to report what is wrong with a reference lacking a valid id. */
  foreignFields?: (reference: string) => Fields | undefined;
}

type Result = { value: unknown; error?: ErrorValue };

/** Fills defaults of `input` per `fields` and validates it; `errors` is undefined when the record is valid. */
export function validateRecord(
  fields: Fields,
  input: Record<string, unknown>,
  checks: EntityCheck[] = [],
  options: ValidateOptions = {},
): { value: Record<string, unknown>; errors?: ErrorTree } {
  const value: Record<string, unknown> = {};
  const errors: ErrorTree = {};
  for (const key of Object.keys(input)) if (!(key in fields)) errors[key] = messages.unknown;
  for (const [name, field] of Object.entries(fields)) {
    const result = validateField(field, name in input ? input[name] : undefined, options);
    value[name] = result.value;
    if (result.error !== undefined) errors[name] = result.error;
  }
  for (const check of checks) {
    if (check.fields.some((name) => name in errors)) continue;
    mergeErrors(errors, check.run(value));
  }
  return Object.keys(errors).length ? { value, errors } : { value };
}

/** Merges entity-check output into `errors`: `@entity` messages accumulate, field messages do not overwrite. */
export function mergeErrors(errors: ErrorTree, extra: ErrorTree | undefined): void {
  if (!extra) return;
  for (const [key, error] of Object.entries(extra)) {
    if (key === '@entity') {
      const list = (errors['@entity'] as string[] | undefined) ?? [];
      errors['@entity'] = [...list, ...(error as string[])];
    } else if (!(key in errors)) {
      errors[key] = error;
    }
  }
}

function absentValue(field: Field, options: ValidateOptions): unknown {
  if (field.auto) return field.auto();
  if (field.default !== undefined) return structuredClone(field.default);
  if (field.type === 'record' && field.fields) return validateRecord(field.fields, {}, [], options).value;
  return null;
}

export function validateField(field: Field, raw: unknown, options: ValidateOptions = {}): Result {
  if (raw === undefined) raw = absentValue(field, options);
  if (raw === null) return field.required ? { value: null, error: messages.required } : { value: null };
  const value = options.form ? coerce(field, raw) : raw;
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') return { value, error: TYPE_MESSAGES.string };
      return { value, error: checkString(field, value) };
    case 'integer':
    case 'number':
      if (
        typeof value !== 'number' ||
        !Number.isFinite(value) ||
        (field.type === 'integer' && !Number.isInteger(value))
      )
        return { value, error: TYPE_MESSAGES[field.type] };
      return { value, error: checkScalar(field, value) };
    case 'boolean':
      return typeof value === 'boolean' ? { value } : { value, error: TYPE_MESSAGES.boolean };
    case 'array':
    case 'set':
      return validateList(field, value, options);
    case 'map':
      return validateMap(field, value, options);
    case 'foreign': {
      const result = validateForeign(field, value, options);
      return result.error === undefined && field.check ? { ...result, error: callCheck(field, value) } : result;
    }
    case 'record': {
      if (!isPlainObject(value)) return { value, error: TYPE_MESSAGES.record };
      if (field.open || !field.fields) return { value };
      const result = validateRecord(field.fields, value, field.entity_checks, options);
      // A record's custom_validator runs on the valid record; its message stands for the whole field.
      if (result.errors === undefined && field.check)
        return { value: result.value, error: callCheck(field, result.value) };
      return { value: result.value, error: result.errors };
    }
  }
}

function checkString(field: Field, value: string): string | undefined {
  const min = field.len_min ?? 1;
  if (value.length < min) return `length must be at least ${min}`;
  if (field.len_max !== undefined && value.length > field.len_max) return `length must be at most ${field.len_max}`;
  if (field.starts_with !== undefined && !value.startsWith(field.starts_with))
    return `should start with: ${field.starts_with}`;
  return checkScalar(field, value);
}

function checkScalar(field: Field, value: string | number): string | undefined {
  if (field.one_of && !field.one_of.includes(value)) return messages.oneOf(field.one_of);
  if (field.between && typeof value === 'number' && (value < field.between[0] || value > field.between[1]))
    return messages.between(field.between[0], field.between[1]);
  return field.check ? callCheck(field, value) : undefined;
}

function validateList(field: Field, value: unknown, options: ValidateOptions): Result {
  if (!Array.isArray(value)) {
    // Kong encodes an empty Lua table as `{}`; accept it as an empty list.
    if (isPlainObject(value) && Object.keys(value).length === 0) return { value: [] };
    return { value, error: TYPE_MESSAGES[field.type] };
  }
  let items = value;
  if (field.type === 'set') items = [...new Map(items.map((item) => [JSON.stringify(item), item])).values()];
  const out: unknown[] = [];
  const errors: (ErrorValue | null)[] = [];
  let failed = false;
  items.forEach((item, index) => {
    const result: Result = field.elements ? validateField(field.elements, item, options) : { value: item };
    out.push(result.value);
    errors[index] = result.error ?? null;
    if (result.error !== undefined) failed = true;
  });
  if (failed) return { value: out, error: errors };
  if (field.len_min !== undefined && out.length < field.len_min)
    return { value: out, error: `length must be at least ${field.len_min}` };
  return { value: out, error: field.check ? callCheck(field, out) : undefined };
}

function validateMap(field: Field, value: unknown, options: ValidateOptions): Result {
  if (!isPlainObject(value)) return { value, error: TYPE_MESSAGES.map };
  const out: Record<string, unknown> = {};
  const errors: ErrorTree = {};
  for (const [key, item] of Object.entries(value)) {
    const keyError = field.keys ? validateField(field.keys, key, options).error : undefined;
    const result: Result = field.values ? validateField(field.values, item, options) : { value: item };
    out[key] = result.value;
    const error = keyError ?? result.error;
    if (error !== undefined) errors[key] = error;
  }
  if (Object.keys(errors).length) return { value: out, error: errors };
  return { value: out, error: field.check ? callCheck(field, out) : undefined };
}

/**
 * A foreign key is valid when its primary key is; other fields are ignored and dropped (Kong checks it with
 * `validate_primary_key(value, true)` and stores only the id). Without a valid id Kong validates the value as a
 * partial entity of the referenced schema and reports those errors first, else the primary key's.
 */
function validateForeign(field: Field, value: unknown, options: ValidateOptions): Result {
  if (!isPlainObject(value)) return { value, error: TYPE_MESSAGES.foreign };
  const id = value.id;
  if (isUuid(id)) return { value: { id } };
  const idError =
    id === undefined || id === false ? messages.missingPrimaryKey : id === null ? messages.required : messages.uuid;
  const fields = field.reference ? options.foreignFields?.(field.reference) : undefined;
  if (fields) {
    const errors: ErrorTree = {};
    for (const [key, item] of Object.entries(value)) {
      const itemField = fields[key];
      const error = itemField ? (item === null ? undefined : validateField(itemField, item).error) : messages.unknown;
      if (error !== undefined) errors[key] = error;
    }
    if (Object.keys(errors).length) return { value, error: errors };
  }
  return { value, error: { id: idError } };
}

/** Form bodies carry strings; Kong converts them to the schema's type before validating. */
function coerce(field: Field, value: unknown): unknown {
  if (typeof value !== 'string') {
    if ((field.type === 'array' || field.type === 'set') && !Array.isArray(value) && value !== undefined)
      return isPlainObject(value) ? Object.values(value) : [value];
    return value;
  }
  if (field.type === 'integer' || field.type === 'number')
    return value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
  if (field.type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  if (field.type === 'array' || field.type === 'set') return [value];
  return value;
}

/** Kong's `conditional` entity check: when `ifField` matches, `thenField` must satisfy `then`. */
export function conditional(
  ifField: string,
  matches: (value: unknown) => boolean,
  thenField: string,
  then: (value: unknown) => string | undefined,
): EntityCheck {
  return {
    fields: [ifField, thenField],
    run: (record) => {
      if (!matches(record[ifField])) return undefined;
      const error = then(record[thenField]);
      return error ? { [thenField]: error, '@entity': [messages.conditional(ifField)] } : undefined;
    },
  };
}

export const mustBeNull = (value: unknown) => (value === null ? undefined : messages.mustBe('null'));
export const requiredValue = (value: unknown) => (value === null ? messages.required : undefined);

export function atLeastOneOf(names: string[]): EntityCheck {
  return {
    fields: names,
    run: (record) =>
      names.some((name) => record[name] !== null && record[name] !== undefined)
        ? undefined
        : { '@entity': [messages.atLeastOneOf(names)] },
  };
}

function callCheck(field: Field, value: unknown): string | undefined {
  return (field.check as ((v: unknown) => string | undefined) | undefined)?.(value);
}
