import type { CloudMapReads } from '../../aws/cloud-map-reads.js';
import { errorMessage } from '../../errors.js';

/** How long a registration's run waits for Cloud Map to apply it (AWS: usually seconds). */
export const OPERATION_WAIT_MS = 30_000;

export type OperationOutcome =
  | { status: 'SUCCESS' | 'FAIL'; waitedMs: number; reason?: string }
  /** Still SUBMITTED/PENDING at the deadline, or GetOperation itself failed: the run goes on; drift repair follows. */
  | { status: 'unknown'; waitedMs: number; reason: string };

/**
 * Waits until Cloud Map reports an asynchronous operation (RegisterInstance, DeregisterInstance) done, polling
 * GetOperation with a growing pause, for at most `timeoutMs`. A run triggered by the call then reads the instance
 * as it is after the change, not before.
 */
export async function waitForOperation(
  client: CloudMapReads,
  operationId: string,
  options: { timeoutMs?: number; signal?: AbortSignal; now?: () => number } = {},
): Promise<OperationOutcome> {
  const now = options.now ?? Date.now;
  const started = now();
  const deadline = started + (options.timeoutMs ?? OPERATION_WAIT_MS);
  let pauseMs = 100;
  for (;;) {
    let status: string | undefined;
    try {
      const { Operation } = await client.getOperation({ OperationId: operationId }, options.signal);
      status = Operation?.Status;
      if (status === 'SUCCESS') return { status, waitedMs: now() - started };
      if (status === 'FAIL') return { status, waitedMs: now() - started, reason: Operation?.ErrorMessage };
    } catch (error) {
      return { status: 'unknown', waitedMs: now() - started, reason: `GetOperation failed: ${errorMessage(error)}` };
    }
    const left = deadline - now();
    if (left <= 0) {
      return { status: 'unknown', waitedMs: now() - started, reason: `still ${status ?? 'unknown'} at the deadline` };
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, left)));
    pauseMs = Math.min(pauseMs * 2, 2_000);
  }
}
