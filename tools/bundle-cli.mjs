#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/src/cli/main.js, after `tsc -p .`) into dist/bundle/cli/ with
 * esbuild: one module for main and one per subcommand plus the chunks they share, instead of the
 * ~85 files Node resolves, reads and links one by one at every `conduit` start (Node 20 keeps no
 * compile cache). bin/conduit runs the bundle when it is at least as new as every compiled file it
 * holds (dist/bundle/cli/inputs.json), else the files tsc emitted. See docs/adr/0017-cli-bundle.md.
 *
 * What stays outside the bundle:
 * - npm packages (fastify, better-sqlite3, sharp, iconv-lite, ...): imported from node_modules as
 *   usual, except commander, which every subcommand loads at start: bundled, it is compiled with
 *   the rest instead of resolved, lexed (cjs-module-lexer) and loaded through the CommonJS loader
 *   file by file (~9 ms of each start; docs/adr/0023-store-start-up.md). Its require() calls of
 *   Node's modules go through a `require` made by createRequire in a banner on every output
 *   file, so no bundled module may declare a top-level `require` of its own (src/dictionary,
 *   which does, stays outside);
 * - src/dictionary: its modules require their generated tables (several hundred KB, loaded only on
 *   first use) by paths relative to themselves, so the bundle imports dist/src/dictionary/ where tsc
 *   put it. The dictionary imports nothing else of Conduit's, so no class exists twice.
 *
 * Without esbuild (an install without devDependencies) this prints a note and exits 0: the CLI then
 * runs unbundled, as before.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(ROOT, 'dist/src/cli/main.js');
// Three levels below the package root, like dist/src/cli/: main's '../../../package.json' holds.
const OUT = join(ROOT, 'dist/bundle/cli');
const DICTIONARY = join(ROOT, 'dist/src/dictionary') + sep;

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('bundle-cli: esbuild is not installed (devDependency): the CLI runs from dist/src, unbundled\n');
  process.exit(0);
}
if (!existsSync(ENTRY)) {
  process.stderr.write(`bundle-cli: ${relative(ROOT, ENTRY)} is missing: run tsc -p . first\n`);
  process.exit(1);
}

/** Imports of dist/src/dictionary/ stay imports of those files, as seen from the bundle's folder. */
const dictionaryOutside = {
  name: 'dictionary-outside',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = resolve(args.resolveDir, args.path);
      if (!target.startsWith(DICTIONARY)) return undefined;
      return { path: relative(OUT, target).split(sep).join('/'), external: true };
    });
  },
};

const packagesOutsideButCommander = {
  name: 'packages-outside-but-commander',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => (args.path === 'commander' ? undefined : { path: args.path, external: true }));
  },
};

rmSync(join(ROOT, 'dist/bundle'), { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: ROOT,
  metafile: true,
  entryPoints: [ENTRY],
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  plugins: [packagesOutsideButCommander, dictionaryOutside],
  banner: { js: "import { createRequire as __conduitCreateRequire } from 'node:module'; const require = __conduitCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
// The compiled files the bundle holds (paths from the package root): bin/conduit runs the bundle
// only while none of them is newer than it (`tsc --watch` rewrites only the files that changed).
writeFileSync(join(OUT, 'inputs.json'), `${JSON.stringify(Object.keys(result.metafile.inputs))}\n`);
