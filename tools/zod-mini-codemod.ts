/**
 * Rewrites classic zod schemas (`z.string().min(1).optional()`) as zod/mini calls
 * (`z.optional(z.string().check(z.minLength(1)))`), in place: `npx tsx tools/zod-mini-codemod.ts FILE...`.
 *
 * Why: the Lambda bundles import shared schemas, and classic zod cannot be tree-shaken (every schema carries every
 * method): 190 KB per bundle and ≈ 40 ms of CPU at each cold start, against 40 KB for zod/mini (docs/performance.md).
 * The files must typecheck before (the type checker tells a number's `.min` from a string's). What it cannot rewrite
 * it reports with the line; imports, `.transform` contexts (`ctx.addIssue` → `ctx.issues.push`) are left to the author.
 */
import { writeFileSync } from 'node:fs';
import ts from 'typescript';

const files = process.argv.slice(2);
const program = ts.createProgram(files, {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
});
const checker = program.getTypeChecker();

/** Wrappers: `X.m(a)` → `z.f(X, a)`. */
const WRAP: Record<string, string> = {
  optional: 'optional',
  nullable: 'nullable',
  nullish: 'nullish',
  default: '_default',
  prefault: 'prefault',
  catch: 'catch',
  array: 'array',
  pipe: 'pipe',
  extend: 'extend',
  omit: 'omit',
  pick: 'pick',
  merge: 'merge',
  partial: 'partial',
};
/** Checks: `X.m(a)` → `X.check(z.f(a))`. Length checks depend on the schema's kind. */
const CHECK: Record<string, string> = {
  regex: 'regex',
  startsWith: 'startsWith',
  endsWith: 'endsWith',
  includes: 'includes',
  trim: 'trim',
  toLowerCase: 'toLowerCase',
  toUpperCase: 'toUpperCase',
  positive: 'positive',
  nonnegative: 'nonnegative',
  negative: 'negative',
  length: 'length',
  superRefine: 'superRefine',
  refine: 'refine',
};

function isSchema(node: ts.Expression): boolean {
  return checker.getTypeAtLocation(node).getProperty('_zod') !== undefined;
}

function isNumber(node: ts.Expression): boolean {
  const type = checker.getTypeAtLocation(node);
  const def = type.getProperty('def');
  const defType = def && checker.getTypeOfSymbolAtLocation(def, node).getProperty('type');
  const kind = defType && checker.typeToString(checker.getTypeOfSymbolAtLocation(defType, node));
  return kind === '"number"' || kind === '"int"';
}

for (const file of files) {
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`not in the program: ${file}`);
  const text = source.getFullText();
  const problems: string[] = [];

  const rewrite = (node: ts.Node): string => {
    const special = rewriteCall(node);
    if (special !== undefined) return special;
    const children = node.getChildren(source);
    if (children.length === 0) return node.getText(source);
    let out = '';
    let pos = node === source ? 0 : node.getStart(source);
    for (const child of children) {
      // JSDoc nodes are children too, but their text is already in the trivia before the next child.
      if (ts.isJSDoc(child)) continue;
      const start = child.getStart(source);
      out += text.slice(pos, start) + rewrite(child);
      pos = child.getEnd();
    }
    return out;
  };

  const rewriteCall = (node: ts.Node): string | undefined => {
    if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression)) return undefined;
    const receiver = node.expression.expression;
    const method = node.expression.name.text;
    if (!isSchema(receiver)) return undefined;
    const args = node.arguments.map((arg) => rewrite(arg));
    const inner = rewrite(receiver);
    const innerText = receiver.getText(source);
    if (method === 'int' && innerText.replace(/\s/g, '') === 'z.number()') return 'z.int()';
    if (method === 'int' && innerText.replace(/\s/g, '') === 'z.coerce.number()')
      return 'z.coerce.number().check(z.int())';
    if (method === 'url' && innerText.replace(/\s/g, '') === 'z.string()') return `z.url(${args.join(', ')})`;
    if (method === 'transform') return `z.pipe(${inner}, z.transform(${args.join(', ')}))`;
    if (method in WRAP) return `z.${WRAP[method]}(${[inner, ...args].join(', ')})`;
    if (method in CHECK) return `${inner}.check(z.${CHECK[method]}(${args.join(', ')}))`;
    if (method === 'min' || method === 'max') {
      const check = isNumber(receiver)
        ? method === 'min'
          ? 'gte'
          : 'lte'
        : method === 'min'
          ? 'minLength'
          : 'maxLength';
      return `${inner}.check(z.${check}(${args.join(', ')}))`;
    }
    if (method === 'nonempty') return `${inner}.check(z.minLength(1${args.length ? `, ${args.join(', ')}` : ''}))`;
    if (['parse', 'safeParse', 'parseAsync', 'safeParseAsync', 'check', 'brand', 'register'].includes(method))
      return undefined;
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    problems.push(`${file}:${line + 1}: .${method}() left as is`);
    return undefined;
  };

  writeFileSync(file, rewrite(source));
  for (const problem of problems) console.error(problem);
}
