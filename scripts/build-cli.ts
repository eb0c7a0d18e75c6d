/**
 * Builds the `noah-backup` CLI into `packages/cli/dist/noah-backup.mjs` (plus lazily
 * loaded chunks beside it) with esbuild, so the installed command runs without the tsx
 * loader (about 44 MiB of RSS). Run by the root `build` script, hence on `npm ci` and
 * `npm install` (`prepare`) and before the tests (a vitest global setup).
 *
 * Bundled: our TypeScript and the small pure dependencies it imports (noble, scure,
 * commander, fflate). Everything else our sources import (better-sqlite3,
 * pg, @aws-sdk/*, fastify and its plugins, pino, cli-progress, …) stays an external
 * import resolved from `node_modules` at run time; the build fails if such an import
 * would resolve to a different file from `dist/` than from its importer.
 *
 * Beside the bundle, `noah-backup.sources.json` lists the sources it was built from
 * (relative to `dist/`), so that `bin/noah-backup.js` can tell a bundle older than its
 * sources and run the sources instead.
 * @module
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { build, type Plugin } from 'esbuild';

const CLI = resolve(import.meta.dirname, '../packages/cli');
const OUT = join(CLI, 'dist');

/** The list of sources beside the bundle, read by bin/noah-backup.js. */
export const SOURCES_FILE = 'noah-backup.sources.json';

/** Bare imports from our sources that are bundled (pure JS, small, no native code). */
const BUNDLED = /^(@noah-backup\/|@noble\/|@scure\/|commander$|fflate$)/;

/**
 * Marks every other bare import of our sources as external, after checking that it
 * resolves to the same file from the output directory. Imports made by bundled
 * packages are bundled with them.
 */
const externals: Plugin = {
  name: 'noah-externals',
  setup(b) {
    b.onResolve({ filter: /^[^./#]/ }, async (args) => {
      if (args.pluginData === 'check' || args.path.startsWith('node:')) return undefined;
      if (args.importer.includes(`${sep}node_modules${sep}`) || BUNDLED.test(args.path))
        return undefined;
      const opts = { kind: args.kind, pluginData: 'check' };
      const [from, fromOut] = await Promise.all([
        b.resolve(args.path, { ...opts, resolveDir: args.resolveDir }),
        // dist/ has no node_modules of its own: it resolves as packages/cli does.
        b.resolve(args.path, { ...opts, resolveDir: CLI }),
      ]);
      if (from.errors.length > 0 || from.path !== fromOut.path)
        return {
          errors: [
            {
              text: `external ${args.path} resolves to ${from.path} from ${args.importer} but to ${fromOut.path || 'nothing'} from ${OUT}: bundle it (BUNDLED in scripts/build-cli.ts)`,
            },
          ],
        };
      return { path: args.path, external: true };
    });
  },
};

/**
 * Builds the bundle into packages/cli/dist (removing what was there).
 * @example
 * ```ts
 * await buildCli();
 * ```
 */
export async function buildCli(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  const { metafile } = await build({
    entryPoints: { 'noah-backup': join(CLI, 'src/main.ts') },
    outdir: OUT,
    // Chunks sit beside the entry: `import.meta.dirname` in a chunk is then
    // packages/cli/dist, two levels below the repository like every package's src/
    // (packages/server/src/web-ui.ts finds packages/web/dist that way).
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // `#platform` in core resolves to its `node` condition (platform: 'node' adds it).
    conditions: ['node'],
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    // Bundled CommonJS (commander) calls require() for Node's
    // built-in modules.
    banner: {
      js: "import { createRequire as __noahCreateRequire } from 'node:module';\nconst require = __noahCreateRequire(import.meta.url);",
    },
    plugins: [externals],
    metafile: true,
  });
  // Our files only: dependencies change through npm, whose `prepare` rebuilds.
  const sources = Object.keys(metafile.inputs)
    .filter((p) => !p.split(/[\\/]/).includes('node_modules'))
    .map((p) => relative(OUT, resolve(p)).split(sep).join('/'))
    .sort();
  writeFileSync(join(OUT, SOURCES_FILE), `${JSON.stringify({ sources }, null, 2)}\n`);
}

/** Vitest global setup: tests that spawn the CLI run a bundle built from these sources. */
export async function setup(): Promise<void> {
  await buildCli();
}

if (process.argv[1] === import.meta.filename) await buildCli();
