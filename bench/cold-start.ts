import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { entryPointOf, functionBuildOptions, loadedAtStart, sdkClientOf } from './bundles.js';
import { median, round, timedCommand } from './measure.js';
import type { ScenarioResult } from './report.js';

const FUNCTIONS = ['meshSync', 'rotateKeys', 'rollback', 'issueToken'];
const MAX_BUNDLE_BYTES = 500 * 1024;
const MAX_LOAD_MS = 80;

function findBundle(directory: string): string {
  for (const entry of readdirSync(directory, { recursive: true, encoding: 'utf8' })) {
    if (entry.endsWith('.cjs')) return join(directory, entry);
  }
  throw new Error(`no .cjs bundle under ${directory}`);
}

/** Node 24 (Lambda's nodejs24.x) through `npx -y node@24`, or undefined where it cannot be fetched. */
async function node24(): Promise<string | undefined> {
  try {
    const { stdout } = await timedCommand('npx', ['-y', 'node@24', '-p', 'process.execPath']);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The SDK clients a function's bundle loads at start (from esbuild's metafile, with serverless.yml's settings; App
 * Mesh's `import()` is not at start), bundled alone with the same settings: what loading the SDK part costs.
 */
async function sdkOnlyBundle(fn: string, directory: string): Promise<string> {
  const common = functionBuildOptions();
  const entryPoint = entryPointOf(fn);
  const { metafile } = await build({
    ...common,
    entryPoints: [entryPoint],
    write: false,
    outdir: directory,
    metafile: true,
  });
  const clients = new Set([...loadedAtStart(metafile, entryPoint)].flatMap((path) => sdkClientOf(path) ?? []));
  const entry = join(directory, `${fn}-sdk-entry.cjs`);
  writeFileSync(entry, [...clients].map((client) => `require('@aws-sdk/${client}');`).join('\n'));
  const outfile = join(directory, `${fn}-sdk.cjs`);
  await build({ ...common, entryPoints: [entry], outfile, nodePaths: [join(process.cwd(), 'node_modules')] });
  return outfile;
}

/** Prints the process's CPU time (user + system, ms) when its script has run: steadier than wall on a busy machine. */
const CPU_AT_EXIT = 'const u=process.cpuUsage();console.log((u.user+u.system)/1000)';

interface LoadTimes {
  wall: number;
  cpu: number;
}

/** `node -e "require(bundle)"` against `node -e 0`, alternating, `runs` times: medians over the bare node. */
async function loadOverNode(node: string, bundle: string, runs: number, env: NodeJS.ProcessEnv): Promise<LoadTimes> {
  const bare: number[] = [];
  const loaded: number[] = [];
  const bareCpu: number[] = [];
  const loadedCpu: number[] = [];
  for (let run = 0; run < runs; run++) {
    bare.push((await timedCommand(node, ['-e', '0'], env)).wallMs);
    loaded.push((await timedCommand(node, ['-e', `require(${JSON.stringify(bundle)})`], env)).wallMs);
    bareCpu.push(Number((await timedCommand(node, ['-e', CPU_AT_EXIT], env)).stdout));
    loadedCpu.push(
      Number((await timedCommand(node, ['-e', `require(${JSON.stringify(bundle)});${CPU_AT_EXIT}`], env)).stdout),
    );
  }
  return { wall: round(median(loaded) - median(bare)), cpu: round(median(loadedCpu) - median(bareCpu)) };
}

/**
 * Packages the functions (`serverless package --stage bench`, into a temp folder), unzips each bundle and times
 * `node -e "require(bundle)"` against a bare `node -e 0`, alternating, median of `runs`, on Node 20 (this process's)
 * and Node 24 (Lambda's runtime, when npx can fetch it). The bundles hold the AWS SDK, and nothing resolves from the
 * repo's node_modules (the child runs in the temp folder, without NODE_PATH): loaded as Lambda loads them.
 */
export async function coldStart(runs: number, env: Record<string, string>): Promise<ScenarioResult> {
  const packageDir = mkdtempSync(join(tmpdir(), 'meshgate-package-'));
  await timedCommand('npx', ['serverless', 'package', '--stage', 'bench', '--package', packageDir]);
  const { NODE_PATH: _nodePath, ...inherited } = process.env;
  const loadEnv = {
    ...inherited,
    ...env,
    NODE_OPTIONS: '',
    // Lambda sets these; without them the SDK would look for credentials in files at its first call, not at load.
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const node24Path = await node24();
  const functions: NonNullable<ScenarioResult['functions']> = {};
  for (const fn of FUNCTIONS) {
    const unzipped = join(packageDir, fn);
    await timedCommand('unzip', ['-q', '-o', join(packageDir, `${fn}.zip`), '-d', unzipped]);
    const bundle = findBundle(unzipped);
    const node20 = await loadOverNode(process.execPath, bundle, runs, loadEnv);
    const sdk = await loadOverNode(process.execPath, await sdkOnlyBundle(fn, packageDir), runs, loadEnv);
    const on24 = node24Path ? await loadOverNode(node24Path, bundle, runs, loadEnv) : undefined;
    functions[fn] = {
      bundle_bytes: statSync(bundle).size,
      load_ms_over_node: node20.wall,
      load_cpu_ms_over_node: node20.cpu,
      sdk_load_ms_over_node: sdk.wall,
      sdk_load_cpu_ms_over_node: sdk.cpu,
      ...(on24 && { node24_load_ms_over_node: on24.wall, node24_load_cpu_ms_over_node: on24.cpu }),
    };
  }
  return {
    name: 'cold-start',
    runs,
    meshgate: { aws_calls: 0 },
    functions,
    bars: FUNCTIONS.flatMap((fn) => {
      const figures = functions[fn] as { bundle_bytes: number; load_ms_over_node: number };
      const on24 = (functions[fn] as { node24_load_ms_over_node?: number }).node24_load_ms_over_node;
      return [
        {
          bar: `${fn} bundle ≤ 500 KB`,
          measured: `${round(figures.bundle_bytes / 1024)} KB`,
          pass: figures.bundle_bytes <= MAX_BUNDLE_BYTES,
        },
        {
          bar: `${fn} load ≤ ${MAX_LOAD_MS} ms over node -e 0 (Node 20${on24 === undefined ? '' : ', 24'})`,
          measured: `+${figures.load_ms_over_node} ms${on24 === undefined ? '' : `, +${on24} ms`}`,
          pass: figures.load_ms_over_node <= MAX_LOAD_MS && (on24 ?? 0) <= MAX_LOAD_MS,
        },
      ];
    }),
    notes: [
      'bundles are the unzipped .cjs of serverless package --stage bench, the AWS SDK inside; loaded with no ' +
        'NODE_PATH, as Lambda loads them; *_cpu_ms_over_node is the same difference in process CPU time (steadier ' +
        "on a shared machine); sdk_load_* is a bundle of only the function's SDK clients, same settings" +
        (node24Path ? '' : '; Node 24 was not available (npx -y node@24 failed), so only Node 20 was measured'),
    ],
  };
}
