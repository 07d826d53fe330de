/**
 * Which function the code running now belongs to. Lambda gives each function its own process and its role's
 * credentials; the local bus runs all of them in one process, so it marks each invocation, and the local stack
 * gives the AWS clients created inside it that function's role credentials.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RunningFunction {
  /** Short name, e.g. `meshSync`. */
  name: string;
  /** Deployed name, e.g. `meshgate-local-meshSync` (the role session name on AWS). */
  deployedName: string;
}

const running = new AsyncLocalStorage<RunningFunction>();

export function runAsFunction<T>(fn: RunningFunction, work: () => T): T {
  return running.run(fn, work);
}

export function currentFunction(): RunningFunction | undefined {
  return running.getStore();
}
