import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { entryPointOf, functionBuildOptions, loadedAtStart, sdkClientOf } from '../../bench/bundles.js';
import { readServerlessYml } from '../../local/bus/rules.js';

const settings = (readServerlessYml() as { custom: { esbuild: Record<string, unknown> } }).custom.esbuild;

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

  it('hold only the SDK clients each function calls', { timeout: 60_000 }, async () => {
    const [meshSync, rotateKeys, rollback] = await Promise.all(['meshSync', 'rotateKeys', 'rollback'].map(metafileOf));

    // Keys and audit, plus the state store (the lease) and Lambda (asking meshSync for a sync the lease deferred).
    expect(sdkClients(rotateKeys as Metafile)).toEqual([
      'client-eventbridge',
      'client-lambda',
      'client-s3',
      'client-secrets-manager',
      'client-servicediscovery',
    ]);
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
    // rotateKeys reads no mesh: Cloud Map (DB-less node discovery only) is never loaded at start.
    expect(clientsLoadedAtStart(rotateKeys as Metafile, 'rotateKeys')).toEqual([
      'client-eventbridge',
      'client-lambda',
      'client-s3',
      'client-secrets-manager',
    ]);
  });
});
