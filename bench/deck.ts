import { timedCommand } from './measure.js';

/** Debian's decK 1.4 (`apt-get install -y deck`), with its defaults (parallelism 10, as meshgate's). */
const DECK = process.env.DECK_BIN ?? 'deck';

export async function deck(command: 'sync' | 'diff', stateFile: string, kongUrl: string) {
  return timedCommand(DECK, [command, '-s', stateFile, '--kong-addr', kongUrl], {
    ...process.env,
    DECK_ANALYTICS: 'off',
  });
}
