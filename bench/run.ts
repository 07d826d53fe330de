/**
 * `npm run bench [-- --json FILE] [--only NAME[,NAME]] [--runs N]`: the performance bars of BRIEF §8 against the
 * Kong and AWS doubles on loopback, meshgate and decK 1.4 alternating. See docs/performance.md.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { coldStart } from './cold-start.js';
import { registerOne } from './register-one.js';
import { printTable, type ScenarioResult } from './report.js';
import { rotateConsumers } from './rotate.js';
import { deckFile, fullSync, fullSyncBars, fullSyncRtt, noopSync } from './sync-scenarios.js';
import { MeshgateProcess } from './worker-protocol.js';
import { startWorld, type WorldSize } from './world.js';

const SCENARIOS = [
  'full-sync-1000',
  'noop-sync-1000',
  'full-sync-1000-rtt',
  'register-one',
  'full-sync-10000',
  'cold-start',
  'rotate-100',
  'dbless-full-sync-1000',
];
const RSS_BAR_MB = 200;
const LARGE_SYNC_BAR_MS = 60_000;

const { values: flags } = parseArgs({
  options: {
    json: { type: 'string' },
    only: { type: 'string' },
    runs: { type: 'string', default: '5' },
    'large-runs': { type: 'string', default: '3' },
    /** Runs the meshgate process under node --cpu-prof, writing its profiles to this folder. */
    profile: { type: 'string' },
  },
});
const runs = Number(flags.runs);
const largeRuns = Number(flags['large-runs']);
const only = flags.only ? flags.only.split(',') : SCENARIOS;
for (const name of only) {
  if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario '${name}'; choose from ${SCENARIOS.join(', ')}`);
}
const wanted = (...names: string[]) => names.some((name) => only.includes(name));
const progress = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** Doubles with a mesh of `size`, and a fresh meshgate process pointed at them. */
async function withWorld<T>(
  size: WorldSize,
  body: (world: Awaited<ReturnType<typeof startWorld>>, meshgate: MeshgateProcess) => Promise<T>,
) {
  progress(`building ${size.services} exposed services and ${size.consumers} consumers in the AWS double`);
  const world = await startWorld(size);
  const meshgate = await MeshgateProcess.start(world.env, flags.profile);
  try {
    return await body(world, meshgate);
  } finally {
    await meshgate.close();
    await world.close();
  }
}

const results: ScenarioResult[] = [];

if (wanted('full-sync-1000', 'noop-sync-1000', 'full-sync-1000-rtt', 'register-one', 'rotate-100')) {
  await withWorld({ services: 1000, consumers: 100 }, async (world, meshgate) => {
    const file = await deckFile(world);
    if (wanted('full-sync-1000')) {
      progress('full-sync-1000');
      const full = await fullSync('full-sync-1000', world, meshgate, { runs, deckRuns: runs, deckFile: file });
      results.push(fullSyncBars(full));
    }
    if (wanted('noop-sync-1000')) {
      progress('noop-sync-1000');
      results.push(await noopSync(world, meshgate, { runs, deckFile: file }));
    }
    if (wanted('full-sync-1000-rtt')) {
      progress('full-sync-1000-rtt');
      results.push(await fullSyncRtt(world, meshgate, { runs, deckFile: file }));
    }
    if (wanted('register-one')) {
      progress('register-one');
      results.push(await registerOne(world, meshgate, runs));
    }
    if (wanted('rotate-100')) {
      progress('rotate-100');
      results.push(await rotateConsumers(world, runs));
    }
  });
}

if (wanted('dbless-full-sync-1000')) {
  // decK 1.4 cannot write a DB-less Kong (its writes answer 405): meshgate's figures only, no ratio.
  await withWorld({ services: 1000, consumers: 100, kongMode: 'dbless' }, async (world, meshgate) => {
    progress('dbless-full-sync-1000');
    const file = await deckFile(world);
    const full = await fullSync('dbless-full-sync-1000', world, meshgate, { runs, deckRuns: 0, deckFile: file });
    results.push({
      ...full,
      notes: ['DB-less Kong double: one POST /config per apply stage; no decK comparison (decK cannot write DB-less)'],
    });
  });
}

if (wanted('full-sync-10000')) {
  await withWorld({ services: 10_000, consumers: 100 }, async (world, meshgate) => {
    progress('full-sync-10000');
    const file = await deckFile(world);
    // The first run in withWorld's process, each later one in a fresh process: every peak RSS is one sync's.
    const samples = [await fullSync('full-sync-10000', world, meshgate, { runs: 1, deckRuns: 1, deckFile: file })];
    for (let run = 1; run < largeRuns; run++) {
      const fresh = await MeshgateProcess.start(world.env);
      samples.push(await fullSync('full-sync-10000', world, fresh, { runs: 1, deckRuns: 0, deckFile: file }));
      await fresh.close();
    }
    results.push(largeSyncResult(samples));
  });
}

if (wanted('cold-start')) {
  progress('cold-start (serverless package --stage bench)');
  results.push(
    await coldStart(runs, { KONG_ADMIN_URL: 'http://127.0.0.1:8001', MESHGATE_STATE_DIR: '/tmp/meshgate-bench-state' }),
  );
}

function largeSyncResult(samples: ScenarioResult[]): ScenarioResult {
  const walls = samples.map((sample) => sample.meshgate?.wall_ms ?? Number.NaN);
  const peak = Math.max(...samples.map((sample) => sample.meshgate?.peak_rss_mb ?? Number.NaN));
  const sorted = [...walls].sort((a, b) => a - b);
  const wall = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  const [first] = samples;
  return {
    name: 'full-sync-10000',
    runs: samples.length,
    meshgate: { ...first?.meshgate, wall_ms: wall, peak_rss_mb: peak, runs_ms: walls },
    ...(first?.deck && { deck: first.deck, ratio: Math.round((wall / first.deck.wall_ms) * 1000) / 1000 }),
    bars: [
      {
        bar: `peak RSS ≤ ${RSS_BAR_MB} MB`,
        measured: `${peak} MB (VmHWM, meshgate process)`,
        pass: peak <= RSS_BAR_MB,
      },
      { bar: `full sync ≤ ${LARGE_SYNC_BAR_MS / 1000} s`, measured: `${wall} ms`, pass: wall <= LARGE_SYNC_BAR_MS },
    ],
    notes: [
      `median of ${samples.length} runs, each in a fresh meshgate process whose VmHWM is read right after the ` +
        'sync (it includes the process baseline: node and the loaded bundle, ≈ 80 MB); deck sync once',
    ],
  };
}

printTable(results);
if (flags.json) {
  writeFileSync(flags.json, `${JSON.stringify({ date: new Date().toISOString(), scenarios: results }, null, 2)}\n`);
  progress(`figures written to ${flags.json}`);
}
