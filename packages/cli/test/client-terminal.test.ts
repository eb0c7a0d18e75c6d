/**
 * On a terminal, `backup`, `restore` and `verify` end with their result line on the
 * screen (the progress bar is cleared before it is printed, not over it), and every
 * phase's bar has a real total: the snapshot's bytes from the walk, the encrypt's from
 * the snapshot, never a full bar over "?". Black box on a real pseudo-terminal: tmux
 * runs the CLI (against the real server, sqlite + fs), logs every byte it draws
 * (pipe-pane), and shows the final screen (capture-pane).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDemoWallet } from '@noah-backup/client/demo-wallet';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';

const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');

let srv: TestServer;
let dir: string;
let socket: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-cli-tty-'));
  socket = join(dir, 'tmux.sock');
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: { maxBackupSize: 16 * 2 ** 20 },
  });
  await writeFile(join(dir, 'm.txt'), `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
  await createDemoWallet(join(dir, 'w'), { sizeMb: 4 });
  // One session lives as long as this file: a tmux server exits with its last session,
  // and a new-session racing that exit fails with "server exited unexpectedly".
  await tmux(['new-session', '-d', '-s', 'keep', 'sleep 3600']);
});
afterAll(async () => {
  await tmux(['kill-server']).catch(() => {});
  await srv?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs tmux on this test's own server socket. */
function tmux(args: string[]): Promise<string> {
  return new Promise((ok, fail) =>
    execFile('tmux', ['-f', '/dev/null', '-S', socket, ...args], (err, stdout) =>
      err ? fail(err) : ok(stdout),
    ),
  );
}

/** The seedphrase and device state options. */
const USER = ['--mnemonic-file', 'm.txt', '--state', 'state'];

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/**
 * Runs the CLI in a 100x20 tmux pane; resolves with the final screen, everything drawn
 * (escape sequences and all) and the exit code.
 */
async function onTerminal(name: string, args: string[]) {
  const log = join(dir, `${name}.log`);
  const cmd = [
    'env',
    '-i',
    `PATH=${process.env.PATH ?? ''}`,
    `HOME=${dir}`,
    'TERM=xterm',
    `NOAH_SERVER=${srv.url}`,
    process.execPath,
    BIN,
    ...args,
  ]
    .map(quote)
    .join(' ');
  // Waits for Enter, so the log is attached before the first byte is drawn.
  await tmux([
    'new-session',
    '-d',
    '-s',
    name,
    '-x',
    '100',
    '-y',
    '20',
    '-c',
    dir,
    `read go; ${cmd}; echo "exit=$?"; sleep 600`,
  ]);
  await tmux(['pipe-pane', '-t', name, '-o', `cat >> ${quote(log)}`]);
  await tmux(['send-keys', '-t', name, 'Enter']);
  let screen = '';
  for (let i = 0; i < 600 && !/exit=\d+/.test(screen); i++) {
    await sleep(100);
    screen = await tmux(['capture-pane', '-p', '-t', name]);
  }
  await tmux(['kill-session', '-t', name]);
  const drawn = await readFile(log, 'latin1');
  return { screen, drawn, exit: Number(/exit=(\d+)/.exec(screen)?.[1] ?? -1) };
}

/** The bars drawn, as `phase done / total` (bar glyphs dropped). */
function bars(drawn: string): string[] {
  const out = new Set<string>();
  for (const m of drawn.matchAll(
    /([a-z]+) +\|[^|\r\n]*\| (?:\d+% )?([\d.]+ MiB) \/ ([^\s\x1b]+( MiB)?)/g,
  ))
    out.add(`${m[1]} ${m[3]}`);
  return [...out];
}

it('backup, restore and verify leave their result line on the screen; bars have totals', async () => {
  const backup = await onTerminal('backup', ['backup', '--data', 'w', ...USER]);
  expect(backup.exit, backup.screen).toBe(0);
  expect(backup.screen).toMatch(
    /^backed up w as backup 1 \(sent [\d.]+ MiB of [\d.]+ MiB \(full: [^)]*\), c/m, // the line wraps at 100 columns
  );
  const drawn = bars(backup.drawn);
  expect(
    drawn.some((b) => /^snapshot [\d.]+ MiB$/.test(b)),
    drawn.join('\n'),
  ).toBe(true);
  expect(
    drawn.some((b) => /^encrypt [\d.]+ MiB$/.test(b)),
    drawn.join('\n'),
  ).toBe(true);
  expect(drawn.filter((b) => b.endsWith('?'))).toEqual([]);

  const restore = await onTerminal('restore', ['restore', '--to', 'w2', ...USER]);
  expect(restore.exit, restore.screen).toBe(0);
  expect(restore.screen).toMatch(/^restored backup 1 \(created .*\) into w2: \d+ entr/m);
  expect(bars(restore.drawn).filter((b) => b.endsWith('?'))).toEqual([]);

  const verify = await onTerminal('verify', ['verify', ...USER]);
  expect(verify.exit, verify.screen).toBe(0);
  expect(verify.screen).toMatch(/^backup 1 is intact: v2, created /m);
}, 120_000);

it('decrypt of a large file leaves its summary on the screen', async () => {
  await writeFile(join(dir, 'big'), randomBytes(17 * 2 ** 20));
  const m = ['--mnemonic-file', 'm.txt'];
  const enc = await onTerminal('encrypt', ['encrypt', '--no-compress', ...m, 'big', 'big.nb']);
  expect(enc.exit, enc.screen).toBe(0);
  expect(enc.screen).toMatch(/^encrypted big as v2 into big\.nb$/m);
  const dec = await onTerminal('decrypt', ['decrypt', ...m, 'big.nb', 'out']);
  expect(dec.exit, dec.screen).toBe(0);
  expect(dec.screen).toMatch(/^decrypted big\.nb \(v2, created .*\) into out$/m);
  expect(bars(dec.drawn)).toContain('decrypt 17.0 MiB');
}, 60_000);
