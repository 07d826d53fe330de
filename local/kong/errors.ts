/**
 * Kong's Admin API error bodies (kong/db/errors.lua, kong/api/endpoints.lua) and the Penlight `pl.pretty` table
 * syntax Kong prints keys with (`{name="foo"}`), so the double answers byte-for-byte what a client would parse.
 */

/** Nested validation errors as Kong returns them under `fields`: entity-level messages under `@entity`. */
export type ErrorTree = { [field: string]: ErrorValue };
export type ErrorValue = string | string[] | ErrorTree | (ErrorValue | null)[];

/** A response the handlers throw to stop and answer: Kong's status and body. */
export class KongHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown> | undefined,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body?.message === 'string' ? body.message : `HTTP ${status}`);
    this.name = 'KongHttpError';
  }
}

const LUA_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function luaString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * `pl.pretty.write(value, indent)`: array part first, then keys sorted; `indent` '' prints on one line
 * (`{a=1,b="x"}`), otherwise one entry per line with ` = `.
 */
export function prettyLua(value: unknown, indent = '  ', depth = 0): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return luaString(value);
  if (typeof value !== 'object') return String(value);
  const entries: string[] = [];
  const inner = (item: unknown) => prettyLua(item, indent, depth + 1);
  if (Array.isArray(value)) {
    for (const item of value) entries.push(inner(item));
  } else {
    for (const key of Object.keys(value).sort()) {
      const name = LUA_IDENTIFIER.test(key) ? key : `[${luaString(key)}]`;
      entries.push(`${name}${indent ? ' = ' : '='}${inner((value as Record<string, unknown>)[key])}`);
    }
  }
  if (entries.length === 0) return '{}';
  if (!indent) return `{${entries.join(',')}}`;
  const pad = indent.repeat(depth + 1);
  return `{\n${entries.map((entry) => pad + entry).join(',\n')}\n${indent.repeat(depth)}}`;
}

const sortedKeys = (tree: object) => Object.keys(tree).sort();

/** `schema violation (a: x)` / `N schema violations (a: x; b.c: y)`, entity-level messages first. */
export function schemaViolationMessage(fields: ErrorTree): string {
  const parts: string[] = [];
  const entity = fields['@entity'];
  if (Array.isArray(entity)) for (const message of entity) parts.push(String(message));
  for (const name of sortedKeys(fields)) {
    if (name === '@entity') continue;
    const errors = fields[name];
    if (typeof errors === 'string') {
      parts.push(`${name}: ${errors}`);
      continue;
    }
    const entries: [string, unknown][] = Array.isArray(errors)
      ? errors.flatMap((error, index) => (error === null ? [] : [[String(index + 1), error] as [string, unknown]]))
      : sortedKeys(errors ?? {}).map((key) => [key, (errors as ErrorTree)[key]]);
    for (const [key, error] of entries) {
      parts.push(`${name}.${key}: ${typeof error === 'string' ? error : prettyLua(error)}`);
    }
  }
  return parts.length === 1
    ? `schema violation (${parts[0]})`
    : `${parts.length} schema violations (${parts.join('; ')})`;
}

function daoError(status: number, code: number, name: string, message: string, extra: Record<string, unknown> = {}) {
  return new KongHttpError(status, { code, name, message, ...extra });
}

export const kongErrors = {
  notFound: () => new KongHttpError(404, { message: 'Not found' }),
  methodNotAllowed: () => new KongHttpError(405, { message: 'Method not allowed' }),
  badJson: () => new KongHttpError(400, { message: 'Cannot parse JSON body' }),
  unsupportedMediaType: () => new KongHttpError(415, undefined),
  unauthorized: () => new KongHttpError(401, { message: 'Invalid credentials. Token or User credentials required' }),
  message: (status: number, message: string) => new KongHttpError(status, { message }),

  schemaViolation: (fields: ErrorTree) =>
    daoError(400, 2, 'schema violation', schemaViolationMessage(fields), { fields }),
  primaryKeyViolation: (key: Record<string, unknown>) =>
    daoError(400, 3, 'primary key violation', `primary key violation on key '${prettyLua(key, '')}'`, {
      fields: key,
    }),
  foreignKeyMissing: (field: string, key: Record<string, unknown>, parent: string) =>
    daoError(
      400,
      4,
      'foreign key violation',
      `the foreign key '${prettyLua(key, '')}' does not reference an existing '${parent}' entity.`,
      { fields: { [field]: key } },
    ),
  foreignKeyRestricted: (parent: string, child: string) =>
    daoError(400, 4, 'foreign key violation', `an existing '${child}' entity references this '${parent}' entity`, {
      fields: { '@referenced_by': child },
    }),
  uniqueViolation: (key: Record<string, unknown>) =>
    daoError(409, 5, 'unique constraint violation', `UNIQUE violation detected on '${prettyLua(key, '')}'`, {
      fields: key,
    }),
  notFoundByPrimaryKey: (key: Record<string, unknown>) =>
    daoError(404, 6, 'not found', `could not find the entity with primary key '${prettyLua(key, '')}'`, {
      fields: key,
    }),
  notFoundByField: (filter: Record<string, unknown>) =>
    daoError(404, 6, 'not found', `could not find the entity with '${prettyLua(filter, '')}'`, { fields: filter }),
  invalidOffset: (offset: string, reason: string) =>
    daoError(400, 7, 'invalid offset', `'${offset}' is not a valid offset: ${reason}`),
  invalidSize: (message: string) => daoError(400, 9, 'invalid size', message),
  invalidUnique: (field: string, message: string) => daoError(400, 10, `invalid unique ${field}`, message),
  invalidOptions: (options: Record<string, string>) => {
    const parts = sortedKeys(options).map((key) => `${key}: ${options[key]}`);
    const message =
      parts.length === 1 ? `invalid option (${parts[0]})` : `${parts.length} option violations (${parts.join('; ')})`;
    return daoError(400, 11, 'invalid options', message, { options });
  },
  /** `unresolved`: per foreign field, the unique fields tried and their values (kong/db/errors.lua). */
  foreignKeyUnresolved: (unresolved: Record<string, Record<string, { value: unknown; parent: string }>>) => {
    const fields: ErrorTree = {};
    const parts: string[] = [];
    for (const field of sortedKeys(unresolved)) {
      const tried = unresolved[field] as Record<string, { value: unknown; parent: string }>;
      const details: ErrorTree = {};
      for (const keyField of sortedKeys(tried)) {
        const { value, parent } = tried[keyField] as { value: unknown; parent: string };
        const detail = `the foreign key cannot be resolved with '${prettyLua({ [keyField]: value }, '')}' for an existing '${parent}' entity`;
        details[keyField] = detail;
        parts.push(`${field}.${keyField}: ${detail}`);
      }
      fields[field] = details;
    }
    const message =
      parts.length === 1
        ? `foreign key unresolved (${parts[0]})`
        : `${parts.length} foreign keys unresolved (${parts.join('; ')})`;
    return daoError(400, 13, 'foreign keys unresolved', message, { fields });
  },
};

/** Kong's default `{"message":…}` per status (kong/error_handlers.lua), used for injected faults without a body. */
const STATUS_MESSAGES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  408: 'Request timeout',
  409: 'Conflict',
  413: 'Payload too large',
  429: 'API rate limit exceeded',
  500: 'An unexpected error occurred',
  502: 'An invalid response was received from the upstream server',
  503: 'The upstream server is currently unavailable',
  504: 'The upstream server is timing out',
};

export function defaultBodyFor(status: number): { message: string } {
  return { message: STATUS_MESSAGES[status] ?? (status >= 500 ? 'An unexpected error occurred' : 'Bad request') };
}
