import { MeshgateError } from '../errors.js';

/** A reconcile run could not dump, plan, apply or restore; `context` names the phase and the operations involved. */
export class ReconcileError extends MeshgateError {}
