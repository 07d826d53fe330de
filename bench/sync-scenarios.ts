import { join } from 'node:path';
import type { LoggedRequest } from '../local/faults.js';
import { deck } from './deck.js';
import { median, round } from './measure.js';
import type { ScenarioResult } from './report.js';
import { MeshgateProcess, type WorkerRequest } from './worker-protocol.js';
import type { World } from './world.js';

const COLLECTIONS = ['/services', '/routes', '/upstreams', '/consumers', '/plugins', '/jwts'];
const TARGET_LIST = /^\/upstreams\/[^/]+\/targets$/;
/** One call per exposed service, plus pages (BRIEF §8). */
const MAX_AWS_CALLS_1000 = 1040;
/** The no-op's floor is one DiscoverInstances per exposed service. */
const NOOP_RATIO_BAR = 0.4;

interface Run {
  wallMs: number;
  requests: number;
  writes: number;
  /** Calls meshgate made to the AWS double (the mesh, the keys, the state store when on S3, the audit bus). */
  awsCalls?: number;
  /** The same calls per AWS operation (`DiscoverInstances: 1000`, ...), to see what is per service and what is not. */
  awsCallsByOperation?: Record<string, number>;
  /** CPU time of the meshgate process, and of the bench process (the doubles) meanwhile. */
  cpuMs?: number;
  doublesCpuMs?: number;
}

/** One meshgate request with the CPU both sides spent on it: on a shared machine CPU time is steadier than wall. */
async function measured(world: World, meshgate: MeshgateProcess, request: WorkerRequest) {
  const awsBefore = world.aws.requests.entries.length;
  const doubles = process.cpuUsage();
  const reply = await meshgate.call(request);
  const used = process.cpuUsage(doubles);
  const run: Run = {
    wallMs: reply.wallMs,
    ...requestCounts(world),
    awsCalls: world.aws.requests.entries.length - awsBefore,
    awsCallsByOperation: byOperation(world.aws.requests.entries.slice(awsBefore)),
    cpuMs: reply.cpuMs,
    doublesCpuMs: (used.user + used.system) / 1000,
  };
  return { reply, run };
}

/** Calls per AWS operation, most first; REST calls the double names no operation for count as `METHOD /path`. */
export function byOperation(entries: readonly LoggedRequest[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const entry of entries) {
    const operation = entry.operation ?? `${entry.method} ${entry.path.split('?')[0]}`;
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

/** `DiscoverInstances 1000, GetResources 10, ...` for a bar's line. */
function describeOperations(counts: unknown): string {
  return Object.entries((counts ?? {}) as Record<string, number>)
    .map(([operation, count]) => `${operation} ${count}`)
    .join(', ');
}

const medianOf = (runs: readonly Run[], figure: (run: Run) => number | undefined) =>
  round(median(runs.map((run) => figure(run) ?? Number.NaN)));

function requestCounts(world: World): Omit<Run, 'wallMs'> {
  return { requests: world.kong.requests.entries.length, writes: world.kong.requests.writes().length };
}

/** Writes the desired state as meshgate's decK file, in a process of its own so it weighs on no sync's RSS. */
export async function deckFile(world: World): Promise<string> {
  const path = join(world.stateDir, 'kong.yaml');
  const writer = await MeshgateProcess.start(world.env);
  try {
    await writer.call({ op: 'deck-file', path });
  } finally {
    await writer.close();
  }
  return path;
}

/**
 * Full sync into an empty Kong, `runs` times, alternating the meshgate pipeline (mesh and keys read through the
 * AWS double, translate, reconcile), the meshgate reconcile alone and `deck sync`; Kong is emptied before each.
 */
export async function fullSync(
  name: string,
  world: World,
  meshgate: MeshgateProcess,
  options: { runs: number; deckRuns: number; deckFile: string; reconcileOnly?: boolean },
): Promise<ScenarioResult> {
  const pipeline: Run[] = [];
  const reconcileOnly: Run[] = [];
  const deckRuns: Run[] = [];
  const baselineRssMb = meshgate.peakRssMb();
  let syncRssMb = 0;
  for (let run = 0; run < options.runs; run++) {
    world.kong.reset();
    const sync = await measured(world, meshgate, { op: 'sync' });
    if (sync.reply.outcome !== 'applied') throw new Error(`${name}: meshgate sync ended '${sync.reply.outcome}'`);
    pipeline.push(sync.run);
    // Before the reconcile-alone run, which keeps a desired state of its own in memory.
    if (run === 0) syncRssMb = meshgate.peakRssMb();
    if (options.reconcileOnly !== false) {
      world.kong.reset();
      reconcileOnly.push((await measured(world, meshgate, { op: 'reconcile' })).run);
    }
    if (run < options.deckRuns) {
      world.kong.reset();
      const { wallMs } = await deck('sync', options.deckFile, world.kong.url);
      deckRuns.push({ wallMs, ...requestCounts(world) });
    }
  }
  const wall = median(pipeline.map((run) => run.wallMs));
  const reconcileWall = reconcileOnly.length ? median(reconcileOnly.map((run) => run.wallMs)) : Number.NaN;
  const deckWall = deckRuns.length ? median(deckRuns.map((run) => run.wallMs)) : undefined;
  return {
    name,
    runs: options.runs,
    meshgate: {
      wall_ms: round(wall),
      requests: pipeline[0]?.requests,
      writes: pipeline[0]?.writes,
      aws_calls: pipeline[0]?.awsCalls,
      aws_calls_by_operation: pipeline[0]?.awsCallsByOperation,
      peak_rss_mb: round(syncRssMb),
      baseline_rss_mb: round(baselineRssMb),
      cpu_ms: medianOf(pipeline, (run) => run.cpuMs),
      doubles_cpu_ms: medianOf(pipeline, (run) => run.doublesCpuMs),
      ...(reconcileOnly.length > 0 && {
        reconcile_only: {
          wall_ms: round(reconcileWall),
          requests: reconcileOnly[0]?.requests,
          cpu_ms: medianOf(reconcileOnly, (run) => run.cpuMs),
          doubles_cpu_ms: medianOf(reconcileOnly, (run) => run.doublesCpuMs),
        },
      }),
      runs_ms: pipeline.map((run) => round(run.wallMs)),
    },
    ...(deckWall !== undefined && {
      deck: { wall_ms: round(deckWall), requests: deckRuns[0]?.requests ?? 0, runs: deckRuns.length },
      ratio: round(wall / deckWall, 3),
    }),
    bars: [],
  };
}

/** The bars of the 1,000-service full sync: the pipeline against `deck sync`. */
export function fullSyncBars(result: ScenarioResult): ScenarioResult {
  const reconcileOnly = result.meshgate?.reconcile_only as { wall_ms: number } | undefined;
  const deckWall = result.deck?.wall_ms ?? Number.NaN;
  return {
    ...result,
    bars: [
      {
        bar: 'wall ≤ 0.5 × deck sync (full pipeline)',
        measured: `${result.meshgate?.wall_ms} ms vs ${deckWall} ms = ${result.ratio}×`,
        pass: (result.ratio ?? Number.POSITIVE_INFINITY) <= 0.5,
      },
      {
        bar: `AWS calls ≤ ${MAX_AWS_CALLS_1000.toLocaleString('en')}`,
        measured: `${result.meshgate?.aws_calls} calls (${describeOperations(result.meshgate?.aws_calls_by_operation)})`,
        pass: ((result.meshgate?.aws_calls as number | undefined) ?? Number.POSITIVE_INFINITY) <= MAX_AWS_CALLS_1000,
      },
      {
        bar: '(reconcile alone ≤ 0.5 × deck sync)',
        measured: `${reconcileOnly?.wall_ms} ms = ${round((reconcileOnly?.wall_ms ?? 0) / deckWall, 3)}×`,
        pass: (reconcileOnly?.wall_ms ?? 0) / deckWall <= 0.5,
      },
    ],
    notes: [
      'ratio = full meshgate pipeline (Cloud Map and Secrets Manager read through the AWS double, translate, ' +
        'reconcile, snapshot, run record, audit event) / deck sync of the file from toDeckFile(desired); ' +
        'reconcile_only is the Kong part alone (dump, diff, snapshot, apply) with the desired state already read',
    ],
  };
}

/** Pages read per top-level collection, and target lists (Kong lists targets only per upstream). */
function readsByCollection(entries: readonly LoggedRequest[]) {
  const pages: Record<string, number> = {};
  let targetLists = 0;
  for (const entry of entries) {
    if (entry.method !== 'GET') continue;
    if (COLLECTIONS.includes(entry.path)) pages[entry.path] = (pages[entry.path] ?? 0) + 1;
    else if (TARGET_LIST.test(entry.path)) targetLists++;
  }
  return { pages, targetLists };
}

async function entityCount(kongUrl: string, collection: string): Promise<number> {
  let count = 0;
  let offset: string | undefined;
  do {
    const query = new URLSearchParams({ size: '1000', ...(offset && { offset }) });
    const page = (await (await fetch(`${kongUrl}${collection}?${query}`)).json()) as {
      data: unknown[];
      offset?: string;
    };
    count += page.data.length;
    offset = page.offset ?? undefined;
  } while (offset);
  return count;
}

/** Re-sync of the state meshgate synced: meshgate's full pipeline against `deck diff`, alternating. */
export async function noopSync(
  world: World,
  meshgate: MeshgateProcess,
  options: { runs: number; deckFile: string },
): Promise<ScenarioResult> {
  const meshgateRuns: (Run & { reads: ReturnType<typeof readsByCollection> })[] = [];
  const reconcileOnly: Run[] = [];
  const deckRuns: Run[] = [];
  world.kong.reset();
  await meshgate.call({ op: 'sync' });
  for (let run = 0; run < options.runs; run++) {
    world.kong.requests.clear();
    const sync = await measured(world, meshgate, { op: 'sync' });
    if (sync.reply.outcome !== 'no-changes') throw new Error(`noop-sync: meshgate sync ended '${sync.reply.outcome}'`);
    meshgateRuns.push({ ...sync.run, reads: readsByCollection(world.kong.requests.entries) });
    world.kong.requests.clear();
    reconcileOnly.push((await measured(world, meshgate, { op: 'reconcile' })).run);
    world.kong.requests.clear();
    const { wallMs } = await deck('diff', options.deckFile, world.kong.url);
    deckRuns.push({ wallMs, ...requestCounts(world) });
  }
  const counts = Object.fromEntries(
    await Promise.all(
      COLLECTIONS.map(async (collection) => [collection, await entityCount(world.kong.url, collection)]),
    ),
  ) as Record<string, number>;
  const upstreams = counts['/upstreams'] ?? 0;
  const first = meshgateRuns[0];
  const pageExcess = COLLECTIONS.filter(
    (collection) => (first?.reads.pages[collection] ?? 0) > Math.max(1, Math.ceil((counts[collection] ?? 0) / 1000)),
  );
  const wall = median(meshgateRuns.map((run) => run.wallMs));
  const deckWall = median(deckRuns.map((run) => run.wallMs));
  const reconcileWall = medianOf(reconcileOnly, (run) => run.wallMs);
  const maxWrites = Math.max(...meshgateRuns.map((run) => run.writes));
  const ratio = round(wall / deckWall, 3);
  return {
    name: 'noop-sync-1000',
    runs: options.runs,
    meshgate: {
      wall_ms: round(wall),
      requests: first?.requests,
      writes: maxWrites,
      aws_calls: first?.awsCalls,
      aws_calls_by_operation: first?.awsCallsByOperation,
      peak_rss_mb: round(meshgate.peakRssMb()),
      cpu_ms: medianOf(meshgateRuns, (run) => run.cpuMs),
      doubles_cpu_ms: medianOf(meshgateRuns, (run) => run.doublesCpuMs),
      pages_per_collection: first?.reads.pages,
      entities_per_collection: counts,
      target_lists: first?.reads.targetLists,
      reconcile_only: {
        wall_ms: medianOf(reconcileOnly, (run) => run.wallMs),
        requests: reconcileOnly[0]?.requests,
        cpu_ms: medianOf(reconcileOnly, (run) => run.cpuMs),
      },
    },
    deck: { wall_ms: round(deckWall), requests: deckRuns[0]?.requests ?? 0, runs: deckRuns.length },
    ratio,
    bars: [
      { bar: '0 writes', measured: `${maxWrites} writes`, pass: maxWrites === 0 },
      {
        bar: '≤ 1 page per 1,000 entities per collection read',
        measured: `${JSON.stringify(first?.reads.pages)}; ${first?.reads.targetLists} target lists for ${upstreams} upstreams`,
        pass: pageExcess.length === 0 && (first?.reads.targetLists ?? 0) <= upstreams,
      },
      {
        bar: `wall ≤ ${NOOP_RATIO_BAR} × deck diff`,
        measured: `${round(wall)} ms vs ${round(deckWall)} ms = ${ratio}×`,
        pass: ratio <= NOOP_RATIO_BAR,
      },
      {
        bar: `(reconcile alone ≤ ${NOOP_RATIO_BAR} × deck diff)`,
        measured: `${reconcileWall} ms = ${round(reconcileWall / deckWall, 3)}×`,
        pass: reconcileWall / deckWall <= NOOP_RATIO_BAR,
      },
    ],
    notes: [
      'Kong lists targets only per upstream (GET /upstreams/{id}/targets), so a dump reads one target page per ' +
        'upstream; decK 1.4 does the same. Each such read is one page of ≤ 1,000 targets.',
    ],
  };
}

/** Round trips the doubles add in `full-sync-1000-rtt`: a network hop to AWS APIs and to Kong's Admin API. */
export const AWS_RTT_MS = 20;
export const KONG_RTT_MS = 2;
const RTT_RATIO_BAR = 1.0;

/**
 * Full sync into an empty Kong with realistic round trips: the AWS double answers every call 20 ms late and the
 * Kong double every request 2 ms late. meshgate's full pipeline (reading the mesh included) against `deck sync` of
 * the prepared file, with the same Kong latency.
 */
export async function fullSyncRtt(
  world: World,
  meshgate: MeshgateProcess,
  options: { runs: number; deckFile: string },
): Promise<ScenarioResult> {
  world.aws.faults.latencyMs = AWS_RTT_MS;
  world.kong.faults.latencyMs = KONG_RTT_MS;
  try {
    const result = await fullSync('full-sync-1000-rtt', world, meshgate, {
      runs: options.runs,
      deckRuns: options.runs,
      deckFile: options.deckFile,
      reconcileOnly: false,
    });
    const { reconcile_only: _none, ...meshgateFigures } = result.meshgate ?? {};
    return {
      ...result,
      meshgate: meshgateFigures,
      bars: [
        {
          bar: `wall ≤ ${RTT_RATIO_BAR} × deck sync (AWS +${AWS_RTT_MS} ms, Kong +${KONG_RTT_MS} ms a request)`,
          measured: `${result.meshgate?.wall_ms} ms vs ${result.deck?.wall_ms} ms = ${result.ratio}×`,
          pass: (result.ratio ?? Number.POSITIVE_INFINITY) <= RTT_RATIO_BAR,
        },
      ],
      notes: [
        `every AWS call answered ${AWS_RTT_MS} ms late and every Kong request ${KONG_RTT_MS} ms late (decK's too); ` +
          'ratio = full meshgate pipeline / deck sync of the prepared file',
      ],
    };
  } finally {
    world.aws.faults.latencyMs = 0;
    world.kong.faults.latencyMs = 0;
  }
}
