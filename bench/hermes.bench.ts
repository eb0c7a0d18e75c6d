/**
 * Core's pure-JavaScript platform inside the Hermes VM (hermes-engine-cli 0.12, after
 * React Native's Babel preset): AES-256-GCM, the key derivations, deflate, HMAC pages.
 * The figures that make native crypto a requirement on React Native (docs/REACT-NATIVE.md);
 * Node's own figures for the same platform in the same run give the ratio. `NOAH_BENCH_FULL_KDF=1`
 * adds noah-v1's full 600,000-round PBKDF2 (over a minute in Hermes).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { bundleRunner, HERMES, prelude } from '../packages/react-native/test/hermes/harness.ts';

const ROOT = join(import.meta.dirname, '..');
if (!existsSync(HERMES)) {
  console.log('installing the Hermes tools (npm run setup:hermes)');
  const r = spawnSync('npm', ['run', 'setup:hermes'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

const full = process.env.NOAH_BENCH_FULL_KDF === '1';
const script =
  `var NOAH_FULL_KDF = ${full};\n${prelude([], {})}` +
  (await bundleRunner(join(ROOT, 'packages/react-native/test/hermes/measure.ts')));

type Row = { name: string; ms: number; mibPerS?: number };
function rows(text: string): Row[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('MEASURE '))
    .map((l) => JSON.parse(l.slice(8)) as Row);
}

const dir = mkdtempSync(join(tmpdir(), 'noah-hermes-bench-'));
try {
  const file = join(dir, 'measure.js');
  writeFileSync(file, script);
  const hermes = spawnSync(HERMES, ['-O', file], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (hermes.status !== 0 || !hermes.stdout.includes('DONE'))
    throw new Error(`hermes failed: ${hermes.stdout}${hermes.stderr}`);
  let nodeOut = '';
  await new Promise<void>((resolve) => {
    runInNewContext(script, {
      print: (l: string) => {
        nodeOut += `${l}\n`;
        if (l === 'DONE' || l.startsWith('CRASH')) resolve();
      },
      setTimeout,
    });
  });
  const inNode = new Map(rows(nodeOut).map((r) => [r.name, r]));
  console.table(
    rows(hermes.stdout).map((r) => ({
      'pure JavaScript platform': r.name,
      'Hermes ms': r.ms,
      'Hermes MiB/s': r.mibPerS?.toFixed(2) ?? '',
      'Node ms': inNode.get(r.name)?.ms,
      'Hermes / Node': (r.ms / Math.max(1, inNode.get(r.name)?.ms ?? 1)).toFixed(1),
    })),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
