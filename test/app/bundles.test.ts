import { createRequire } from 'node:module';
import { build, type Metafile, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { readServerlessYml } from '../../local/bus/rules.js';

/** The bundle settings of serverless.yml (`custom.esbuild`), as serverless-esbuild passes them to esbuild. */
const document = readServerlessYml() as {
  custom: { esbuild: Record<string, unknown> };
  functions: Record<string, { handler: string }>;
};
const settings = document.custom.esbuild;
const plugins = createRequire(import.meta.url)(`../../${settings.plugins as string}`) as Plugin[];

async function metafileOf(fn: string): Promise<Metafile> {
  const handler = document.functions[fn]?.handler ?? '';
  const result = await build({
    entryPoints: [`${handler.slice(0, handler.lastIndexOf('.'))}.ts`],
    bundle: true,
    write: false,
    outdir: 'out',
    metafile: true,
    minify: settings.minify as boolean,
    format: settings.format as 'cjs',
    platform: settings.platform as 'node',
    target: settings.target as string,
    mainFields: settings.mainFields as string[],
    external: settings.exclude as string[],
    plugins,
    logLevel: 'silent',
  });
  return result.metafile;
}

const sdkClientOf = (path: string) => /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(path)?.[1];

function sdkClients(metafile: Metafile): string[] {
  return [...new Set(Object.keys(metafile.inputs).flatMap((path) => sdkClientOf(path) ?? []))].sort();
}

/** The modules a bundle runs when it is loaded: reachable from the entry by static imports (not `import()`). */
function loadedAtStart(metafile: Metafile, entry: string): Set<string> {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
    for (const next of metafile.inputs[path]?.imports ?? []) {
      if (next.kind === 'dynamic-import' || next.external || seen.has(next.path)) continue;
      seen.add(next.path);
      queue.push(next.path);
    }
  }
  return seen;
}

function clientsLoadedAtStart(metafile: Metafile, fn: string): string[] {
  const handler = document.functions[fn]?.handler ?? '';
  const entry = `${handler.slice(0, handler.lastIndexOf('.'))}.ts`;
  return [...new Set([...loadedAtStart(metafile, entry)].flatMap((path) => sdkClientOf(path) ?? []))].sort();
}

describe('function bundles (serverless.yml esbuild settings)', () => {
  it('bundle the AWS SDK rather than leave it to the Lambda runtime', () => {
    expect(settings.exclude).toEqual([]);
  });

  it('hold only the SDK clients each function calls', { timeout: 60_000 }, async () => {
    const [meshSync, rotateKeys, rollback] = await Promise.all(['meshSync', 'rotateKeys', 'rollback'].map(metafileOf));

    expect(sdkClients(rotateKeys as Metafile)).toEqual(['client-eventbridge', 'client-secrets-manager']);
    expect(sdkClients(meshSync as Metafile)).toEqual([
      'client-app-mesh',
      'client-eventbridge',
      'client-resource-groups-tagging-api',
      'client-s3',
      'client-secrets-manager',
      'client-servicediscovery',
    ]);
    expect(sdkClients(rollback as Metafile)).toEqual([
      'client-app-mesh',
      'client-eventbridge',
      'client-lambda',
      'client-resource-groups-tagging-api',
      'client-s3',
      'client-secrets-manager',
      'client-servicediscovery',
    ]);
    // Lambda hands credentials over in the environment: no profile, SSO, STS or metadata providers are bundled.
    for (const metafile of [meshSync, rotateKeys, rollback] as Metafile[]) {
      const providers = Object.keys(metafile.inputs).filter((path) =>
        /@aws-sdk\/(nested-clients|token-providers|credential-provider-(?!env\/))/.test(path),
      );
      expect(providers).toEqual([]);
    }
    // App Mesh is opt-in (MESH_NAMES): its client and source are imported dynamically, at the first App Mesh read.
    expect(clientsLoadedAtStart(meshSync as Metafile, 'meshSync')).not.toContain('client-app-mesh');
    expect(clientsLoadedAtStart(meshSync as Metafile, 'meshSync')).toContain('client-servicediscovery');
    expect(clientsLoadedAtStart(rollback as Metafile, 'rollback')).not.toContain('client-app-mesh');
  });
});
