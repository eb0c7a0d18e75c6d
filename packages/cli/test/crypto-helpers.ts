/**
 * Black-box helpers for the format commands: run `noah-backup` as a child process with a
 * clean environment, and list what a directory holds afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';

/** The CLI entry point. */
export const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');
/** The Python implementation of the legacy formats. */
export const PYTHON = resolve(import.meta.dirname, '../../../scripts/crosscheck_legacy.py');
/** The test-vector corpus. */
export const TESTDATA = resolve(import.meta.dirname, '../../../testdata');

/** The seedphrase of the tests (a BIP39 test mnemonic; also the test vectors'). */
export const MNEMONIC =
  'legal winner thank year wave sausage worth useful legal winner thank yellow';
/** Another valid seedphrase. */
export const OTHER =
  'letter advice cage absurd amount doctor acoustic avoid letter advice cage above';

/** The outcome of one run. */
export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Options of {@link cli}. */
export interface CliOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Bytes for stdin (stdin is closed empty otherwise). */
  input?: Uint8Array;
  /** Called with the child once it is spawned (to signal it). */
  onSpawn?: (child: ChildProcess) => void;
}

/** Runs the CLI with only PATH and HOME from the environment, plus `env`. */
export function cli(args: string[], opts: CliOptions): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: opts.cwd, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', fail);
    child.stdin.on('error', () => {}); // the CLI may exit before reading all of stdin
    if (opts.onSpawn) opts.onSpawn(child);
    else child.stdin.end(opts.input ?? new Uint8Array(0));
    child.on('close', (code, signal) => done({ code, signal, stdout: Buffer.concat(out), stderr }));
  });
}

/** Names in `dir`, sorted. */
export function ls(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Deterministic test bytes (not compressible enough to hide bugs in chunking). */
export function data(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = i % 3 === 0 ? s & 0xff : (i >> 8) & 0xff;
  }
  return out;
}

/**
 * A wallet directory as Noah's app keeps it, what `encrypt --format noah-v1` takes
 * (docs/FORMAT.md §4.5): bark's SQLite `db.sqlite` at its top, with `rows` rows.
 * @returns `path`, made
 */
export function noahWalletDir(path: string, rows = 3): string {
  mkdirSync(path, { recursive: true });
  const db = new Database(join(path, 'db.sqlite'));
  db.exec('CREATE TABLE vtxo (id INTEGER PRIMARY KEY, amount INTEGER)');
  const add = db.prepare('INSERT INTO vtxo (amount) VALUES (?)');
  for (let i = 0; i < rows; i++) add.run(1000 + i);
  db.close();
  return path;
}
