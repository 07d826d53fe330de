export { type RotationDeps, type RotationLogger, silentLogger } from './deps.js';
export { ROTATION_STEPS, type RotationEvent, type RotationStep, rotateStep, type StepOutcome } from './steps.js';
