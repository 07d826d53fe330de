import { createRequire } from 'node:module';
import type { BuildOptions, Metafile, Plugin } from 'esbuild';
import { readServerlessYml } from '../cli/serverless-yml.js';

/** serverless.yml's functions and their esbuild settings (`custom.esbuild`). */
const document = () =>
  readServerlessYml() as {
    custom: { esbuild: Record<string, unknown> };
    functions: Record<string, { handler: string }>;
  };

/** The TypeScript entry point of a function (`functions/mesh-sync/handler.handler` → `…/handler.ts`). */
export function entryPointOf(fn: string): string {
  const handler = document().functions[fn]?.handler ?? '';
  return `${handler.slice(0, handler.lastIndexOf('.'))}.ts`;
}

/** The esbuild options serverless-esbuild derives from serverless.yml (no entry point, no output). */
export function functionBuildOptions(): BuildOptions {
  const settings = document().custom.esbuild;
  return {
    bundle: true,
    minify: settings.minify as boolean,
    format: settings.format as 'cjs',
    platform: settings.platform as 'node',
    target: settings.target as string,
    mainFields: settings.mainFields as string[],
    external: settings.exclude as string[],
    plugins: createRequire(import.meta.url)(`../${settings.plugins as string}`) as Plugin[],
    logLevel: 'silent',
  };
}

/** The modules a bundle runs when it is loaded: reachable from the entry by static imports (not `import()`). */
export function loadedAtStart(metafile: Metafile, entry: string): Set<string> {
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

/** The AWS SDK client package a bundled path belongs to (`client-s3`), if any. */
export const sdkClientOf = (path: string) => /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(path)?.[1];
