/**
 * zod for everything the Lambda functions load: zod/mini (functions, not methods: `z.optional(z.string())`), which
 * esbuild can tree-shake (≈ 40 KB in a bundle against 190 KB for classic zod, and ≈ 40 ms less CPU at each cold
 * start; docs/performance.md). zod/mini loads no locale; English messages are the ones classic zod gives.
 * Classic zod (`from 'zod'`) stays for code the functions never load (local doubles, CLI-only, tests).
 * Import it as a namespace, `import * as z from '…/zod.js'`, and use zod's names through it.
 */
import { config, type object as miniObject, type ZodMiniObject, ZodMiniType } from 'zod/mini';
import { $constructor, $ZodObjectJIT, util } from 'zod/v4/core';
import en from 'zod/v4/locales/en.js';

config(en());

// Re-exported name by name: a namespace object passed on as a value would keep all of zod in the bundle.
export * from 'zod/mini';
// zod's error class by name: `z.core.$ZodError` as a value would keep the whole `core` namespace.
export { $ZodError } from 'zod/v4/core';

/**
 * `z.object` with zod's compiled (JIT) object parser, as classic zod's objects have: zod/mini's own `object` uses the
 * generic one, ≈ 2× slower per entity, which a dump of thousands of Kong entities feels (≈ 29 KB more in a bundle).
 * `extend`, `omit` and the like clone the schema with its constructor, so they keep it.
 */
const ZodMiniObjectJIT = $constructor('ZodMiniObject', (inst: ZodMiniObject, def: ZodMiniObject['_zod']['def']) => {
  $ZodObjectJIT.init(inst, def);
  ZodMiniType.init(inst, def);
  util.installLazyProp(inst, 'shape', (self: ZodMiniObject) => self._zod.def.shape, false);
});

export const object = ((shape?: Record<string, unknown>, params?: Parameters<typeof miniObject>[1]) =>
  new ZodMiniObjectJIT({
    type: 'object',
    shape: shape ?? {},
    ...util.normalizeParams(params),
  } as never)) as typeof miniObject;
