import { KONNECT_CORE_ENTITIES } from '../config/index.js';
import { KongError } from './errors.js';

/**
 * Kong Konnect: a control plane's entities live under
 * `https://{region}.api.konghq.com/v2/control-planes/{controlPlaneId}/core-entities` (decK builds the same address),
 * with the Admin API's collections below it. What differs from a Kong Admin API, and how meshgate handles it, is in
 * docs/kong-modes.md; this module holds the parts that are pure (the URL, the error bodies).
 */
/**
 * Konnect serves no node root (`GET /`): decK does not ask, it assumes the newest Kong because a control plane
 * always runs it. meshgate writes for the newest version it supports, and Konnect adapts what it sends to older
 * data planes.
 */
export const KONNECT_KONG_VERSION = '3.9.0';

/** The control plane's id when `url` is a Konnect core-entities URL; undefined otherwise. */
export function konnectControlPlane(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  return KONNECT_CORE_ENTITIES.exec(new URL(url).pathname)?.[1]?.toLowerCase();
}

interface KonnectErrorDetail {
  type?: unknown;
  field?: unknown;
  messages?: unknown;
}

/**
 * A Konnect error body read into Kong's terms. Konnect answers in three shapes: its API gateway's `{message,
 * status}` (401), problem+json `{status, title, detail, instance}` (404 outside a known control plane, 429), and the
 * core-entities service's gRPC-style `{code, message, details[]}` where `code` is a gRPC status (3 invalid
 * argument, 5 not found), not Kong's DAO code. A constraint failure is a 400 naming the index type in its
 * message: `name (type: unique) constraint failed …` is Kong's unique violation (code 5, so the apply's "already
 * exists" handling applies), `(type: foreign)` Kong's foreign-key violation (code 4).
 */
export function konnectErrorFromResponse(
  status: number,
  body: unknown,
  method: string,
  path: string,
  retryable: boolean,
): KongError {
  const error = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const details = Array.isArray(error.details) ? (error.details as KonnectErrorDetail[]) : [];
  const problems = details.map((detail) => {
    const messages = Array.isArray(detail.messages) ? detail.messages.map(String).join('; ') : '';
    const field = typeof detail.field === 'string' && detail.field ? `${detail.field}: ` : '';
    return `${field}${messages || String(detail.type ?? '')}`;
  });
  const summary =
    [error.message, error.detail, error.title].find(
      (text): text is string => typeof text === 'string' && text !== '',
    ) ?? `HTTP ${status}`;
  const constraint = problems.join(' ');
  const code = /\(type: unique\)/.test(constraint) ? 5 : /\(type: foreign\)/.test(constraint) ? 4 : undefined;
  const hint =
    status === 401
      ? ' (the Konnect access token was refused: a personal (kpat_…) or system account (spat_…) token with ' +
        'access to this control plane is expected in the admin-token secret)'
      : '';
  const exhausted = retryable ? ' (retries exhausted)' : '';
  const text = problems.length ? `${summary}: ${problems.join(', ')}` : summary;
  return new KongError(`Konnect ${method} ${path} answered ${status}: ${text}${hint}${exhausted}`, {
    method,
    path,
    status,
    code,
    kongName: code === 5 ? 'unique constraint violation' : code === 4 ? 'foreign key violation' : undefined,
    fields: details.length ? details : undefined,
    retryable,
  });
}
