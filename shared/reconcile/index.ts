export { type ApplyOptions, type ApplyResult, apply, assertOwnership, type ChangeFailure } from './apply.js';
export { type DeckFile, toDeckFile } from './deck.js';
export { type Change, type ChangeAction, deepEqual, diff, type FieldDiff } from './diff.js';
export { type DumpOptions, dump, type Scope, scopeState } from './dump.js';
export { ReconcileError } from './errors.js';
export { type KeptObject, keepFailed } from './keep.js';
export {
  formatPlan,
  isEmptyPlan,
  LEVELS,
  type Plan,
  type PlanJson,
  type PlanStage,
  type PlanSummary,
  plan,
  planChanges,
  planJson,
} from './plan.js';
export { type ReconcileOptions, reconcile, type SyncOutcome, type SyncReport, syncRunSummary } from './reconcile.js';
