import { spawnSync } from 'node:child_process';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { entryPointOf, functionBuildOptions, loadedAtStart, sdkClientOf } from '../../bench/bundles.js';
import { declaredNodeOptions, readServerlessYml } from '../../cli/serverless-yml.js';

const settings = (readServerlessYml() as { custom: { esbuild: Record<string, unknown> } }).custom.esbuild;

const KB = 1024;
/** The bar: each function's bundle, the AWS SDK inside, at most 500 KB (load time is mostly compiling the bytes). */
const MAX_BUNDLE_BYTES = 500 * KB;

async function metafileOf(fn: string): Promise<Metafile> {
  const options = { ...functionBuildOptions(), entryPoints: [entryPointOf(fn)], write: false, outdir: 'out' };
  return (await build({ ...options, metafile: true })).metafile;
}

function sdkClients(metafile: Metafile): string[] {
  return [...new Set(Object.keys(metafile.inputs).flatMap((path) => sdkClientOf(path) ?? []))].sort();
}

function clientsLoadedAtStart(metafile: Metafile, fn: string): string[] {
  return [...new Set([...loadedAtStart(metafile, entryPointOf(fn))].flatMap((path) => sdkClientOf(path) ?? []))].sort();
}

describe('function bundles (serverless.yml esbuild settings)', () => {
  it('bundle the AWS SDK rather than leave it to the Lambda runtime', () => {
    expect(settings.exclude).toEqual([]);
  });

  it('run with NODE_OPTIONS that Node accepts (a bad one fails every cold start), the young generation capped', () => {
    const options = declaredNodeOptions();
    expect(options.split(' ')).toContain('--max-semi-space-size=4');
    const run = spawnSync(process.execPath, ['-e', '0'], {
      env: { ...process.env, NODE_OPTIONS: options },
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('hold only the SDK clients each function calls', { timeout: 60_000 }, async () => {
    const [meshSync, rotateKeys, rollback, issueToken] = await Promise.all(
      ['meshSync', 'rotateKeys', 'rollback', 'issueToken'].map(metafileOf),
    );

    // Audit (EventBridge also carries the request for a sync the lease deferred: no Lambda client).
    expect(sdkClients(rotateKeys as Metafile)).toEqual(['client-eventbridge']);
    expect(sdkClients(issueToken as Metafile)).not.toContain('client-secrets-manager');
    expect(sdkClients(meshSync as Metafile)).toEqual(['client-eventbridge', 'client-resource-groups-tagging-api']);
    expect(sdkClients(rollback as Metafile)).toEqual(['client-eventbridge', 'client-resource-groups-tagging-api']);
    // The state store's S3 calls, the App Mesh reads, the Cloud Map reads and the Secrets Manager calls go through
    // shared/aws/s3-objects.ts, app-mesh-reads.ts, cloud-map-reads.ts and secrets-manager.ts (the SDK's signer and
    // HTTP handler), not the S3 client (≈ 150 KB with its middleware), the App Mesh client (≈ 48 KB), the Cloud Map
    // client nor the Secrets Manager client: sdkClients above holds no client-s3, client-app-mesh,
    // client-servicediscovery or client-secrets-manager.
    // Lambda hands credentials over in the environment: no profile, SSO, STS or metadata providers are bundled.
    for (const metafile of [meshSync, rotateKeys, rollback] as Metafile[]) {
      const providers = Object.keys(metafile.inputs).filter((path) =>
        /@aws-sdk\/(nested-clients|token-providers|credential-provider-(?!env\/))/.test(path),
      );
      expect(providers).toEqual([]);
    }
    // App Mesh is opt-in (MESH_NAMES): its source is imported dynamically, at the first App Mesh read.
    const appMeshSourceAtStart = (metafile: Metafile, fn: string) =>
      [...loadedAtStart(metafile, entryPointOf(fn))].filter((path) => path.includes('shared/sources/appmesh/'));
    expect(appMeshSourceAtStart(meshSync as Metafile, 'meshSync')).toEqual([]);
    expect(Object.keys((meshSync as Metafile).inputs)).toContain('shared/sources/appmesh/source.ts');
    expect([...loadedAtStart(meshSync as Metafile, entryPointOf('meshSync'))]).toContain(
      'shared/aws/cloud-map-reads.ts',
    );
    expect(appMeshSourceAtStart(rollback as Metafile, 'rollback')).toEqual([]);
    // rotateKeys reads no mesh and builds no Cloud Map client (DB-less node discovery is meshSync's).
    expect(clientsLoadedAtStart(rotateKeys as Metafile, 'rotateKeys')).toEqual(['client-eventbridge']);
  });

  it('are at most 500 KB each, with no classic zod', {
    timeout: 60_000,
  }, async () => {
    const functions = ['meshSync', 'rotateKeys', 'rollback', 'issueToken'];
    const metafiles = await Promise.all(functions.map(metafileOf));
    functions.forEach((fn, index) => {
      const metafile = metafiles[index] as Metafile;
      const bytes = Object.values(metafile.outputs)[0]?.bytes ?? 0;
      expect(bytes, `${fn} bundle bytes`).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
      // Classic zod cannot be tree-shaken (≈ 150 KB more, ≈ 40 ms more CPU at a cold start): code a function loads
      // parses with zod/mini through shared/zod.ts.
      const classic = Object.keys(metafile.inputs).filter((path) => path.includes('node_modules/zod/v4/classic/'));
      expect(classic, `${fn} bundles classic zod`).toEqual([]);
      // No SDK operation a function calls streams events: esbuild.plugins.cjs keeps the protocols' lazy import of
      // the event-stream codec (≈ 20 KB) out. DB-less Kong's YAML is read with js-yaml, not the 3× larger `yaml`.
      const bundled = Object.entries(Object.values(metafile.outputs)[0]?.inputs ?? {});
      const left = bundled
        .flatMap(([path, { bytesInOutput }]) => (bytesInOutput > 0 ? [path] : []))
        .filter((path) => /node_modules\/(@smithy\/core\/dist-es\/submodules\/event-streams|yaml)\//.test(path));
      expect(left, `${fn} bundles event streams or yaml`).toEqual([]);
    });
  });
});
