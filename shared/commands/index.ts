// Operator commands: one zod union (schema.ts) parsed the same way by the CLI, its `--remote` path and the rollback
// function, and one dispatch (dispatch.ts) that carries them out.
export {
  type CommandContext,
  type CommandResult,
  type CommandResults,
  dispatch,
  type RollbackSyncCommandResult,
  type SyncCommandResult,
} from './dispatch.js';
export { parseOperatorCommand } from './middleware.js';
export {
  CommandError,
  type CommandIssue,
  type CommandOf,
  commandIssues,
  describeIssues,
  OPERATOR_ACTIONS,
  type OperatorAction,
  type OperatorCommand,
  OperatorCommandSchema,
  parseCommand,
  SyncCommandSchema,
} from './schema.js';
