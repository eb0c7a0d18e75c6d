#!/usr/bin/env node
/**
 * `npm run bundle:rn`: the compile step React Native's release builds run, for the example
 * app (packages/react-native/example), on both platforms, from a fresh clone.
 *
 * 1. Installs the example's own dependencies (its lockfile) when they are missing or stale.
 * 2. Typechecks the app and, through it, core's react-native.ts against the real
 *    react-native-quick-crypto types.
 * 3. For android and ios: Metro bundles the app as the native build does (`expo
 *    export:embed`, release mode, minified), then the Hermes compiler React Native ships
 *    (hermes-compiler, a dependency of react-native) compiles the bundle to bytecode.
 * 4. Checks each result: Hermes bytecode of hermesc's version, and the bundle's source map
 *    lists core's platform/react-native.ts and none of the other platforms (the
 *    `react-native` export condition of core's `#platform` decided by Metro).
 *
 * Writes packages/react-native/example/dist/{android,ios}/ (git-ignored). Plain Node, no
 * dependency of the repository root: it runs before or without the root `npm ci`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const EXAMPLE = join(import.meta.dirname, '..', 'example');
const DIST = join(EXAMPLE, 'dist');
const PLATFORMS = ['android', 'ios'];
/** Hermes bytecode files start with this magic number (little-endian u64). */
const HBC_MAGIC = Buffer.from('c61fbc03c103191f', 'hex');
const env = { ...process.env, CI: '1', EXPO_NO_TELEMETRY: '1', EXPO_OFFLINE: '1' };

function step(what) {
  console.log(`\n== ${what}`);
  return Date.now();
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: EXAMPLE, stdio: 'inherit', env, ...opts });
  if (r.status !== 0) {
    console.error(`bundle:rn: ${[cmd, ...args].join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function fail(message) {
  console.error(`bundle:rn: ${message}`);
  process.exit(1);
}

// 1. The example's own install: npm ci when node_modules is missing or older than the lockfile.
let t = step('install (packages/react-native/example, its own lockfile)');
const stamp = join(EXAMPLE, 'node_modules', '.package-lock.json');
const lock = join(EXAMPLE, 'package-lock.json');
if (!existsSync(stamp) || statSync(stamp).mtimeMs < statSync(lock).mtimeMs) {
  run('npm', ['ci', '--no-audit', '--no-fund']);
  console.log(`installed in ${((Date.now() - t) / 1000).toFixed(1)} s`);
} else console.log('up to date');

// 2. Typecheck.
t = step('typecheck (the app, the SDK, core on react-native-quick-crypto)');
run(process.execPath, [
  join(EXAMPLE, 'node_modules', 'typescript', 'bin', 'tsc'),
  '-p',
  'tsconfig.json',
]);
console.log(`ok in ${((Date.now() - t) / 1000).toFixed(1)} s`);

// The Hermes compiler of the installed react-native (its hermes-compiler dependency).
const fromRn = createRequire(join(EXAMPLE, 'node_modules', 'react-native', 'package.json'));
const compilerDir = dirname(fromRn.resolve('hermes-compiler/package.json'));
const hostDir = { linux: 'linux64-bin', darwin: 'osx-bin', win32: 'win64-bin' }[process.platform];
if (!hostDir) fail(`no hermesc for ${process.platform}`);
const hermesc = join(
  compilerDir,
  'hermesc',
  hostDir,
  process.platform === 'win32' ? 'hermesc.exe' : 'hermesc',
);
const compilerVersion = JSON.parse(readFileSync(join(compilerDir, 'package.json'), 'utf8')).version;
const hbcVersion = Number(
  /HBC bytecode version: (\d+)/.exec(
    spawnSync(hermesc, ['-version'], { encoding: 'utf8' }).stdout,
  )?.[1],
);

rmSync(DIST, { recursive: true, force: true });
const summary = [];
for (const platform of PLATFORMS) {
  const out = join(DIST, platform);
  mkdirSync(out, { recursive: true });
  const bundle = join(out, `index.${platform}.bundle`);
  const hbc = `${bundle}.hbc`;

  // 3a. Metro, as the native release build calls it.
  t = step(`${platform}: Metro bundle (expo export:embed, release)`);
  run(join(EXAMPLE, 'node_modules', '.bin', 'expo'), [
    'export:embed',
    '--platform',
    platform,
    '--dev',
    'false',
    '--minify',
    'true',
    '--entry-file',
    'index.ts',
    '--bundle-output',
    bundle,
    '--sourcemap-output',
    `${bundle}.map`,
    '--assets-dest',
    join(out, 'assets'),
  ]);
  const metroMs = Date.now() - t;

  // 3b. hermesc, with the flags of React Native's Gradle and Xcode release steps.
  t = step(`${platform}: hermesc ${compilerVersion} -O → Hermes bytecode`);
  const compiled = spawnSync(
    hermesc,
    ['-emit-binary', '-max-diagnostic-width=80', '-O', '-output-source-map', '-out', hbc, bundle],
    { cwd: EXAMPLE, encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  if (compiled.status !== 0) {
    console.error(compiled.stderr);
    fail(`hermesc failed on ${bundle} (exit ${compiled.status ?? compiled.signal})`);
  }
  // Its warnings (undeclared globals React Native provides at run time) are the ones every
  // React Native release build prints: counted, not shown.
  const warnings = (compiled.stderr.match(/: warning: /g) ?? []).length;
  console.log(
    `ok, ${warnings} warnings (undeclared globals such as Image; as in any React Native build)`,
  );
  const hermescMs = Date.now() - t;

  // 4. What was produced.
  const head = readFileSync(hbc).subarray(0, 12);
  if (!head.subarray(0, 8).equals(HBC_MAGIC)) fail(`${hbc} is not Hermes bytecode`);
  if (head.readUInt32LE(8) !== hbcVersion)
    fail(`${hbc}: bytecode version ${head.readUInt32LE(8)}, hermesc says ${hbcVersion}`);
  const sources = JSON.parse(readFileSync(`${bundle}.map`, 'utf8')).sources;
  const platforms = sources
    .map((s) => /\/core\/src\/platform\/(node|web|js|react-native)\.ts$/.exec(s)?.[1])
    .filter(Boolean);
  if (platforms.length !== 1 || platforms[0] !== 'react-native')
    fail(`${platform}: core's #platform resolved to [${platforms.join(', ')}], not react-native`);
  summary.push({
    platform,
    bundle: `${(statSync(bundle).size / 2 ** 20).toFixed(2)} MiB`,
    hbc: `${(statSync(hbc).size / 2 ** 20).toFixed(2)} MiB`,
    'hbc version': hbcVersion,
    modules: sources.length,
    '#platform': 'react-native.ts',
    'metro s': (metroMs / 1000).toFixed(1),
    'hermesc s': (hermescMs / 1000).toFixed(1),
  });
}

console.log('\n== bundle:rn: Hermes bytecode for both platforms');
console.table(summary);
console.log(`written to ${DIST}`);
