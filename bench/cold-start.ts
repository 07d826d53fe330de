import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, round, timedCommand } from './measure.js';
import type { ScenarioResult } from './report.js';

const FUNCTIONS = ['meshSync', 'rotateKeys', 'rollback'];
const MAX_BUNDLE_BYTES = 500 * 1024;
const MAX_LOAD_MS = 80;

/** The AWS SDK packages a bundle requires (left out of it, as Lambda's runtime provides them). */
function sdkModules(bundle: string): string[] {
  const source = readFileSync(bundle, 'utf8');
  return [...new Set([...source.matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map((match) => match[1] as string))];
}

function findBundle(directory: string): string {
  for (const entry of readdirSync(directory, { recursive: true, encoding: 'utf8' })) {
    if (entry.endsWith('.cjs')) return join(directory, entry);
  }
  throw new Error(`no .cjs bundle under ${directory}`);
}

/**
 * Packages the functions (`serverless package --stage bench`, into a temp folder), unzips each bundle and times
 * `node -e "require(bundle)"` against a bare `node -e 0`, alternating, median of `runs`. The AWS SDK is left out
 * of the bundles (Lambda's runtime provides it), so it resolves from the repo's node_modules through NODE_PATH.
 */
export async function coldStart(runs: number, env: Record<string, string>): Promise<ScenarioResult> {
  const packageDir = mkdtempSync(join(tmpdir(), 'meshgate-package-'));
  await timedCommand('npx', ['serverless', 'package', '--stage', 'bench', '--package', packageDir]);
  const loadEnv = { ...process.env, ...env, NODE_PATH: resolve('node_modules'), NODE_OPTIONS: '' };
  const functions: NonNullable<ScenarioResult['functions']> = {};
  for (const fn of FUNCTIONS) {
    const unzipped = join(packageDir, fn);
    await timedCommand('unzip', ['-q', '-o', join(packageDir, `${fn}.zip`), '-d', unzipped]);
    const bundle = findBundle(unzipped);
    const requireSdk = `for (const m of ${JSON.stringify(sdkModules(bundle))}) require(m)`;
    const bare: number[] = [];
    const loaded: number[] = [];
    const sdkOnly: number[] = [];
    for (let run = 0; run < runs; run++) {
      bare.push((await timedCommand(process.execPath, ['-e', '0'], loadEnv)).wallMs);
      loaded.push((await timedCommand(process.execPath, ['-e', `require(${JSON.stringify(bundle)})`], loadEnv)).wallMs);
      sdkOnly.push((await timedCommand(process.execPath, ['-e', requireSdk], loadEnv)).wallMs);
    }
    functions[fn] = {
      bundle_bytes: statSync(bundle).size,
      load_ms_over_node: round(median(loaded) - median(bare)),
      sdk_load_ms_over_node: round(median(sdkOnly) - median(bare)),
    };
  }
  return {
    name: 'cold-start',
    runs,
    functions,
    bars: FUNCTIONS.flatMap((fn) => {
      const figures = functions[fn] as { bundle_bytes: number; load_ms_over_node: number };
      return [
        {
          bar: `${fn} bundle ≤ 500 KB`,
          measured: `${round(figures.bundle_bytes / 1024)} KB`,
          pass: figures.bundle_bytes <= MAX_BUNDLE_BYTES,
        },
        {
          bar: `${fn} load ≤ ${MAX_LOAD_MS} ms over node -e 0`,
          measured: `+${figures.load_ms_over_node} ms`,
          pass: figures.load_ms_over_node <= MAX_LOAD_MS,
        },
      ];
    }),
    notes: [
      'bundles are the unzipped .cjs of serverless package --stage bench; the AWS SDK (excluded from the bundles, ' +
        "as Lambda's runtime provides it) resolves from the repo's node_modules via NODE_PATH, so its load time is " +
        'included in the figure; sdk_load_ms_over_node is the cost of requiring those SDK packages alone',
    ],
  };
}
