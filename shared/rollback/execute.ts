import type { App } from '../app/context.js';
import type { RollbackCommand } from './commands.js';
import { freezeSync, resumeSync, rollbackConsumerKey, rollbackSync } from './operations.js';
import { pingKong } from './ping.js';
import { collectStatus } from './status.js';

/** Carries out an operator's command; shared by the rollback function and the CLI's local mode. */
export async function executeCommand(
  app: App,
  command: RollbackCommand,
  requestSync: (reason: string) => Promise<void>,
): Promise<unknown> {
  switch (command.action) {
    case 'sync': {
      const result = await rollbackSync(await app.operationsDeps(requestSync), command, app.config);
      return {
        restored: result.restored,
        outcome: result.report.outcome,
        summary: result.report.plan.summary,
        snapshotId: result.report.snapshotId,
        frozen: result.freeze !== undefined,
      };
    }
    case 'key':
      return rollbackConsumerKey(
        await app.operationsDeps(requestSync),
        { consumer: command.consumer, by: command.by },
        app.config,
      );
    case 'freeze':
      return freezeSync(await app.operationsDeps(requestSync), command);
    case 'resume':
      return resumeSync(await app.operationsDeps(requestSync), command);
    case 'status':
      return collectStatus(await app.meshSyncDeps(), app.config);
    case 'snapshots':
      return app.store.list();
    case 'ping':
      return pingKong(await app.kong(), app.config);
  }
}
