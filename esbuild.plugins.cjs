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

module.exports = [zodWithoutLocales, lambdaCredentialsFromEnvironment];
