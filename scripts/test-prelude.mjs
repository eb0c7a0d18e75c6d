#!/usr/bin/env node
/**
 * What `npm test` runs before Vitest, side by side rather than one after another: the
 * React Native test tools' and the example's installs (scripts/ensure-hermes.mjs,
 * scripts/ensure-rn-tests.mjs: mostly network and disk), the typecheck (`tsc -b`: one
 * core) and the lint (`biome check .`). None reads what another writes: the typecheck
 * and the lint skip every node_modules, and the installs are into three folders of
 * their own (docs/REACT-NATIVE.md §5). Each step's output is printed whole when it ends;
 * the exit code is 1 when any step failed, after all of them ended.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const node = process.execPath;
const STEPS = [
  { name: 'React Native test tools', args: [join(ROOT, 'scripts', 'ensure-hermes.mjs')] },
  { name: 'React Native example', args: [join(ROOT, 'scripts', 'ensure-rn-tests.mjs')] },
  {
    name: 'typecheck (tsc -b)',
    args: [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'],
  },
  {
    name: 'lint (biome check .)',
    args: [join(ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome'), 'check', '.'],
  },
];

/** Runs one step; resolves with its exit code and everything it printed, in order. */
function run(step) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(node, step.args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    child.on('error', (err) => out.push(Buffer.from(`${err.message}\n`)));
    child.on('close', (code, signal) => {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const text = Buffer.concat(out).toString('utf8');
      const ok = code === 0;
      process.stdout.write(
        `${ok ? 'ok' : 'FAILED'}: ${step.name} (${secs} s)\n${text}${text && !text.endsWith('\n') ? '\n' : ''}`,
      );
      resolve(ok ? null : `${step.name} (exit ${code ?? signal})`);
    });
  });
}

const failed = (await Promise.all(STEPS.map(run))).filter(Boolean);
if (failed.length > 0) {
  console.error(`test prelude: ${failed.join(', ')} failed; see its output above`);
  process.exit(1);
}
