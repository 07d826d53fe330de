// esbuild plugins for the function bundles (serverless.yml `custom.esbuild.plugins`, and the bench's worker).
// CommonJS because serverless-esbuild loads this file with require().
const { sep } = require('node:path');

/**
 * zod's namespace re-exports every locale (`z.locales`, 64 languages, about half of each bundle). meshgate only
 * uses zod's default English messages, which zod imports separately, so the locales index becomes an empty module.
 */
const zodWithoutLocales = {
  name: 'zod-without-locales',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${sep}zod${sep}`) ? { path: 'zod-locales', namespace: 'zod-without-locales' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-without-locales' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

/**
 * On Lambda the runtime hands a function its role's credentials in the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which is where the SDK's default chain looks first. The rest of that
 * chain (profiles, SSO, web identity, process, container and instance metadata, each with its own nested STS/SSO
 * clients: ≈ 100 KB of every bundle, parsed at each cold start) never runs there, so the function bundles get a
 * default provider that reads the environment only. Code run from source (tests, the CLI, `npm start`) keeps the SDK's
 * full chain.
 */
const lambdaCredentialsFromEnvironment = {
  name: 'lambda-credentials-from-environment',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, (args) => ({
      path: 'credential-provider-node',
      namespace: 'lambda-credentials-from-environment',
      // The SDK client's own folder, so that credential-provider-env resolves as it would for the client.
      pluginData: { resolveDir: args.resolveDir },
    }));
    build.onLoad({ filter: /.*/, namespace: 'lambda-credentials-from-environment' }, (args) => ({
      contents:
        "import { fromEnv } from '@aws-sdk/credential-provider-env';\n" +
        'export const defaultProvider = (init = {}) => fromEnv(init);\n',
      loader: 'js',
      resolveDir: args.pluginData.resolveDir,
    }));
  },
};

/**
 * The SDK's HTTP protocols import `@smithy/core/event-streams` with `import()` when an operation streams events; a
 * CommonJS bundle inlines it (≈ 20 KB with the checksums it needs). No operation meshgate's functions call streams
 * events (App Mesh, Cloud Map, Tagging, Secrets Manager, EventBridge), so that import gets a module that says so if
 * ever asked: a new call that streams fails loudly in its first test instead of silently.
 */
const noEventStreams = {
  name: 'no-event-streams',
  setup(build) {
    // Only that lazy import: the clients' static imports of the module still resolve (no function bundles those).
    build.onResolve({ filter: /^@smithy\/core\/event-streams$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: 'event-streams', namespace: 'no-event-streams' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'no-event-streams' }, () => ({
      contents:
        "const refuse = () => { throw new Error('event streams are not bundled (esbuild.plugins.cjs)'); };\n" +
        'export const EventStreamSerde = refuse;\n' +
        'export const eventStreamSerdeProvider = refuse;\n',
      loader: 'js',
    }));
  },
};

/**
 * Each SDK client imports its whole package.json (≈ 2 KB: scripts, dependencies, ...) for one field, its version,
 * which goes into the User-Agent header. The bundles get the name and version only.
 */
const sdkPackageVersionOnly = {
  name: 'sdk-package-version-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/]client-[a-z0-9-]+[\\/]package\.json$/ }, async (args) => {
      const { name, version } = JSON.parse(await require('node:fs/promises').readFile(args.path, 'utf8'));
      return { contents: JSON.stringify({ name, version }), loader: 'json' };
    });
  },
};

module.exports = [zodWithoutLocales, lambdaCredentialsFromEnvironment, noEventStreams, sdkPackageVersionOnly];
