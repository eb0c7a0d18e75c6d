/**
 * The host side of the Hermes vector run: bundles `runner.ts` as Metro would build it
 * for React Native (each file through React Native's own Babel preset, then one script),
 * runs it once in Node to learn which slow PBKDF2 inputs it needs (computing them with
 * node:crypto), then runs it under the Hermes VM of hermes-engine-cli with those keys.
 * The tools come from packages/react-native/hermes (its own lockfile; `npm run
 * setup:hermes`, which `npm test` runs when they are missing), never from the root install.
 * @module
 */
import { spawn } from 'node:child_process';
import { pbkdf2Sync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build, type Plugin } from 'esbuild';
import type { HostVector } from './protocol.ts';

const HERE = import.meta.dirname;
const TOOLS = join(HERE, '..', '..', 'hermes');
/** The Hermes VM: hermes-engine-cli 0.12, the newest Hermes with a Linux VM on npm. */
export const HERMES = join(TOOLS, 'node_modules', 'hermes-engine-cli', 'linux64-bin', 'hermes');

/** Throws a clear line when the tools are not installed. */
export function checkTools(): void {
  if (!existsSync(HERMES) || !existsSync(join(TOOLS, 'node_modules', '@babel', 'core')))
    throw new Error(
      'the Hermes tools are not installed: run `npm run setup:hermes` (npm ci in packages/react-native/hermes)',
    );
}

/**
 * Shims for what Hermes 0.12 lacks but React Native 0.86's Hermes has natively
 * (TextEncoder, Symbol.asyncIterator): the harness's VM is older than the one apps ship.
 * Nothing the app's Hermes lacks is shimmed here (docs/REACT-NATIVE.md lists both).
 */
const SHIMS = `
if (typeof Symbol.asyncIterator === 'undefined') Symbol.asyncIterator = Symbol.for('Symbol.asyncIterator');
if (typeof TextEncoder === 'undefined') {
  var TextEncoder = function () {};
  TextEncoder.prototype.encode = function (s) {
    var u = unescape(encodeURIComponent(s));
    var out = new Uint8Array(u.length);
    for (var i = 0; i < u.length; i++) out[i] = u.charCodeAt(i);
    return out;
  };
}
`;

/** Babel over every module with React Native's preset, as Metro's transformer does. */
function reactNativeBabel(): Plugin {
  const req = createRequire(join(TOOLS, 'package.json'));
  const babel = req('@babel/core') as {
    transformSync(code: string, opts: object): { code?: string | null } | null;
  };
  const preset = req.resolve('@react-native/babel-preset');
  return {
    name: 'react-native-babel',
    setup(b) {
      b.onLoad({ filter: /\.(ts|js|mjs|cjs)$/ }, (args) => {
        const out = babel.transformSync(readFileSync(args.path, 'utf8'), {
          filename: args.path,
          babelrc: false,
          configFile: false,
          sourceType: 'unambiguous',
          // Helpers inline, imports left for the bundler: the transform Metro applies.
          presets: [[preset, { enableBabelRuntime: false, disableImportExportTransform: true }]],
        });
        return { contents: out!.code!, loader: 'js' };
      });
    },
  };
}

/**
 * Bundles the runner (or another entry of this folder): one script for Hermes, with
 * `#platform` pointing at the runner's platform (core's pure-JavaScript one).
 * @param entry - the entry file, default `runner.ts`
 * @returns the script's text
 */
export async function bundleRunner(entry = join(HERE, 'runner.ts')): Promise<string> {
  checkTools();
  const platform: Plugin = {
    name: 'platform',
    setup(b) {
      b.onResolve({ filter: /^#platform$/ }, () => ({ path: join(HERE, 'platform.ts') }));
    },
  };
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'esnext',
    write: false,
    logLevel: 'silent',
    plugins: [platform, reactNativeBabel()],
  });
  return result.outputFiles[0]!.text;
}

/** The prelude: the vectors, the host's PBKDF2 table (or recorder), the shims. */
export function prelude(vectors: HostVector[], table: Record<string, string> | undefined): string {
  const host = table
    ? `var NOAH_TABLE = ${JSON.stringify(table)};
var NOAH_HOST = { pbkdf2Sha256: function (k) {
  if (!Object.prototype.hasOwnProperty.call(NOAH_TABLE, k)) throw new Error('PBKDF2 inputs the host did not derive');
  return NOAH_TABLE[k];
} };`
    : '';
  return `var NOAH_VECTORS = ${JSON.stringify(vectors)};\n${host}\n${SHIMS}\n`;
}

/** What one run printed: per-vector results by id, the final count, any crash. */
export interface RunOutput {
  results: Map<string, { ok: boolean; why?: string; ms: number }>;
  done: number | undefined;
  crash: string | undefined;
  raw: string;
}

function parse(raw: string): RunOutput {
  const results: RunOutput['results'] = new Map();
  let done: number | undefined;
  let crash: string | undefined;
  for (const line of raw.split('\n')) {
    if (line.startsWith('RESULT ')) {
      const r = JSON.parse(line.slice(7)) as { id: string; ok: boolean; why?: string; ms: number };
      results.set(r.id, r);
    } else if (line.startsWith('DONE ')) done = Number(line.slice(5));
    else if (line.startsWith('CRASH ')) crash = line.slice(6);
  }
  return { results, done, crash, raw };
}

/**
 * Runs the bundle in Node (V8) with a recording PBKDF2 host: learns the slow PBKDF2 inputs
 * and derives them with node:crypto.
 * @returns the run's output and the table for the Hermes run
 */
export async function runInNode(
  bundle: string,
  vectors: HostVector[],
): Promise<{ out: RunOutput; table: Record<string, string> }> {
  const table: Record<string, string> = {};
  let raw = '';
  let finished!: () => void;
  const ended = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const context = {
    print: (line: string) => {
      raw += `${line}\n`;
      if (line.startsWith('DONE ') || line.startsWith('CRASH ')) finished();
    },
    NOAH_HOST: {
      pbkdf2Sha256(key: string): string {
        const [pw, salt, iterations, length] = key.split(':');
        table[key] ??= pbkdf2Sync(
          Buffer.from(pw!, 'hex'),
          Buffer.from(salt!, 'hex'),
          Number(iterations),
          Number(length),
          'sha256',
        ).toString('hex');
        return table[key];
      },
    },
    setTimeout,
    clearTimeout,
  };
  runInNewContext(prelude(vectors, undefined) + bundle, context, { filename: 'runner.js' });
  await ended;
  return { out: parse(raw), table };
}

/**
 * Runs the bundle under Hermes with the host's PBKDF2 table.
 * @param file - where to write the script Hermes runs
 * @returns what it printed, and its exit status
 */
export async function runInHermes(
  bundle: string,
  vectors: HostVector[],
  table: Record<string, string>,
  file: string,
): Promise<RunOutput & { status: number | null; stderr: string }> {
  writeFileSync(file, prelude(vectors, table) + bundle);
  const child = spawn(HERMES, ['-O', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let raw = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    raw += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { ...parse(raw), status, stderr };
}
