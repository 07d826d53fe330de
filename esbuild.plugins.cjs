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

module.exports = [zodWithoutLocales];
