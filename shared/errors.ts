/**
 * Base of meshgate's error classes. Each domain (config, kong, sources, reconcile, snapshots, rotation, events)
 * has one subclass; `context` carries the facts an operator needs (never secret material) and `cause` chains the
 * underlying error.
 */
export class MeshgateError extends Error {
  readonly context: Record<string, unknown>;

  constructor(message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.context = options.context ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, message: this.message, ...this.context };
  }
}

/** The message of any thrown value, for logs and audit events. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
