/**
 * The Kong double as a Konnect control plane: the same store and Admin API handlers served under
 * `/v2/control-planes/{controlPlaneId}/core-entities`, behind Konnect's bearer-token check, answering in Konnect's
 * shapes (sources in docs/kong-modes.md#konnect):
 * - the API gateway: `401 {"message": "Unauthorized", "status": 401}` for a missing or unknown access token;
 * - problem+json (`{status, title, type, instance, detail}`) for a path outside a known control plane and for 429;
 * - the core-entities service (gRPC-style, as Kong's koko): `{code, message, details[]}` with `code` a gRPC status,
 *   `validation error` details per field (`ERROR_TYPE_FIELD`) and `data constraint error` for unique and foreign
 *   references (`ERROR_TYPE_REFERENCE`, `<field> (type: unique|foreign) constraint failed …`), always 400 (Kong
 *   answers a unique violation 409);
 * - no root (`GET /`), no `/config` or `/status`, no PATCH (targets are upserted with PUT);
 * - list pages carry `next` as a path under the control plane's prefix.
 */
import { type ErrorTree, KongHttpError } from './errors.js';
import type { Reply } from './handlers.js';
import { isPlainObject } from './schemas/fields.js';

/** The control plane the double serves when none is given (any UUID works; this one is stable across runs). */
export const DEFAULT_CONTROL_PLANE_ID = '9524ec7d-36d9-465d-a8c5-83a3c9390458';

const GRPC_INVALID_ARGUMENT = 3;
const GRPC_NOT_FOUND = 5;
const GRPC_UNIMPLEMENTED = 12;
const ERROR_DETAIL_TYPE = 'type.googleapis.com/kong.admin.model.v1.ErrorDetail';

export class KonnectGate {
  readonly prefix: string;
  private tokens: Set<string>;
  private traces = 0;

  constructor(options: { controlPlaneId?: string; tokens: string[] }) {
    this.prefix = `/v2/control-planes/${options.controlPlaneId ?? DEFAULT_CONTROL_PLANE_ID}/core-entities`;
    this.tokens = new Set(options.tokens);
  }

  /** Replaces the accepted access tokens (a token rotated in Konnect: the old one is refused from now on). */
  setTokens(tokens: string[]): void {
    this.tokens = new Set(tokens);
  }

  /** Konnect's gateway checks the bearer token before anything else, whatever the path. */
  authorize(authorization: string | string[] | undefined): void {
    const value = Array.isArray(authorization) ? authorization[0] : authorization;
    const match = /^Bearer\s+(\S+)$/i.exec(value ?? '');
    if (!match || !this.tokens.has(match[1] as string))
      throw new KongHttpError(401, { message: 'Unauthorized', status: 401 });
  }

  /** The Admin API path under the control plane's prefix; a path outside it is a problem+json 404. */
  inner(pathname: string): string {
    if (pathname !== this.prefix && !pathname.startsWith(`${this.prefix}/`)) throw this.problem(404);
    const rest = pathname.slice(this.prefix.length).replace(/\/+$/, '');
    // The core-entities API has entity collections only: no node root, declarative config or status.
    if (rest === '' || rest === '/config' || rest === '/status') throw this.problem(404);
    return rest;
  }

  /** Konnect has no PATCH on core entities; the gRPC gateway answers an unmapped method as unimplemented. */
  checkMethod(method: string): void {
    if (method === 'PATCH')
      throw new KongHttpError(405, { code: GRPC_UNIMPLEMENTED, message: 'Method Not Allowed', details: [] });
  }

  problem(status: 404 | 429, detail = status === 404 ? 'Not found' : 'Too Many Requests'): KongHttpError {
    const title = status === 404 ? 'Not Found' : 'Too Many Requests';
    return new KongHttpError(
      status,
      {
        status,
        title,
        type: `https://httpstatuses.com/${status}`,
        instance: `kong:trace:${(++this.traces).toString().padStart(10, '0')}`,
        detail,
      },
      { 'Content-Type': 'application/problem+json' },
    );
  }

  /** A reply of the Admin API handlers as Konnect gives it: errors in its shapes, `next` under the prefix. */
  reply(reply: Reply): Reply {
    const body = reply.body;
    if (reply.status >= 400) return { status: reply.status === 409 ? 400 : reply.status, body: konnectError(reply) };
    if (isPlainObject(body) && Array.isArray(body.data) && typeof body.next === 'string')
      return { ...reply, body: { ...body, next: this.prefix + body.next } };
    return reply;
  }

  /** An injected fault's body, as Konnect's layers would answer that status. */
  faultBody(status: number): Record<string, unknown> {
    if (status === 401) return { message: 'Unauthorized', status: 401 };
    if (status === 404 || status === 429) return this.problem(status).body as Record<string, unknown>;
    return {
      code: status >= 500 ? 13 : GRPC_INVALID_ARGUMENT,
      message: status >= 500 ? '' : 'Bad Request',
      details: [],
    };
  }
}

interface Detail {
  '@type': string;
  type: 'ERROR_TYPE_FIELD' | 'ERROR_TYPE_REFERENCE' | 'ERROR_TYPE_ENTITY';
  field?: string;
  messages: string[];
}

/** Kong's DAO error (kong/db/errors.lua codes) → the core-entities service's body. */
function konnectError(reply: Reply): Record<string, unknown> {
  const body = isPlainObject(reply.body) ? reply.body : {};
  const code = typeof body.code === 'number' ? body.code : undefined;
  const message = typeof body.message === 'string' ? body.message : '';
  const fields = isPlainObject(body.fields) ? (body.fields as ErrorTree) : {};
  if (reply.status === 404) return { code: GRPC_NOT_FOUND, message: '', details: [] };
  const reference = (type: 'unique' | 'foreign'): Record<string, unknown> => ({
    code: GRPC_INVALID_ARGUMENT,
    message: 'data constraint error',
    details: Object.entries(fields).map(([field, value]) =>
      detail('ERROR_TYPE_REFERENCE', field === '@referenced_by' ? undefined : field, [
        `${field} (type: ${type}) constraint failed for value '${valueText(value)}': ${message}`,
      ]),
    ),
  });
  switch (code) {
    case 2:
      return { code: GRPC_INVALID_ARGUMENT, message: 'validation error', details: fieldDetails(fields) };
    case 3:
    case 5:
      return reference('unique');
    case 4:
    case 13:
      return reference('foreign');
    default:
      return { code: GRPC_INVALID_ARGUMENT, message: message || 'Bad Request', details: [] };
  }
}

function detail(type: Detail['type'], field: string | undefined, messages: string[]): Detail {
  return { '@type': ERROR_DETAIL_TYPE, type, ...(field === undefined ? {} : { field }), messages };
}

function valueText(value: unknown): string {
  if (isPlainObject(value)) return Object.values(value).map(String).join(',');
  return String(value);
}

/** Kong's nested `fields` tree flattened to one detail per field path (`config.key`), entity messages apart. */
function fieldDetails(tree: ErrorTree, prefix = ''): Detail[] {
  const details: Detail[] = [];
  for (const [name, value] of Object.entries(tree)) {
    if (name === '@entity') {
      const messages = (Array.isArray(value) ? value : [value]).map(String);
      details.push(detail('ERROR_TYPE_ENTITY', undefined, messages));
      continue;
    }
    const path = prefix ? `${prefix}.${name}` : name;
    if (typeof value === 'string') details.push(detail('ERROR_TYPE_FIELD', path, [value]));
    else if (Array.isArray(value))
      details.push(
        detail(
          'ERROR_TYPE_FIELD',
          path,
          value.filter((item) => item !== null).map((item) => (typeof item === 'string' ? item : JSON.stringify(item))),
        ),
      );
    else if (isPlainObject(value)) details.push(...fieldDetails(value as ErrorTree, path));
  }
  return details;
}
