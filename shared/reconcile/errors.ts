import { MeshgateError } from '../errors.js';

/** A reconcile run could not dump, plan, apply or restore; `context` names the phase and the operations involved. */
export class ReconcileError extends MeshgateError {}

/** An entity meshgate wants exists in Kong without meshgate's tags (by id or unique name): left out, reported. */
export class OwnershipConflict extends ReconcileError {}
