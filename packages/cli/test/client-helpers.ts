/**
 * The setup the client-command tests share: the real server on a loopback port (SQLite
 * metadata, blobs on disk) and a scratch directory that is the CLI's cwd and HOME, both
 * made before the file's tests and removed after them; the real `noah-backup` binary run
 * to the end with a clean environment; users with a seedphrase in a file.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';

/** The CLI entry point. */
export const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');

/** The outcome of one run (`code` -1 when it ended by a signal or its timeout). */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link useCliServer}. */
export interface CliServerOptions {
  /** The server's limit on one backup (default 16 MiB). */
  maxBackupSize?: number;
  /** How long one run may take before it is killed (default 120 s). */
  timeoutMs?: number;
}

/** What {@link useCliServer} gives a test file (the fields are set once `beforeAll` ran). */
export interface CliServer {
  readonly srv: TestServer;
  /** The scratch directory: the CLI's cwd and HOME. */
  readonly dir: string;
  /** The clean environment of a run, plus `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Runs the CLI to the end with `env(extra)`. */
  cli(args: string[], extra?: Record<string, string>): Promise<Run>;
  /** A user: a fresh mnemonic in `<name>.mnemonic`; `as(state)` gives the options for a device state dir. */
  user(name: string): Promise<{ mnemonic: string; file: string; as: (state: string) => string[] }>;
}

/** Registers the server and scratch directory of a test file (`prefix` names the directory). */
export function useCliServer(prefix: string, opts: CliServerOptions = {}): CliServer {
  let srv: TestServer | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), prefix));
    srv = await startTestServer({
      metadataKind: 'sqlite',
      blobKind: 'fs',
      config: { maxBackupSize: opts.maxBackupSize ?? 16 * 2 ** 20 },
    });
  });
  afterAll(async () => {
    await srv?.close();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('useCliServer: used before its beforeAll ran');
    return v;
  };
  const h: CliServer = {
    get srv() {
      return ready(srv);
    },
    get dir() {
      return ready(dir);
    },
    env: (extra = {}) => ({
      PATH: process.env.PATH ?? '',
      HOME: h.dir,
      NOAH_SERVER: h.srv.url,
      ...extra,
    }),
    cli: (args, extra) =>
      new Promise((done) => {
        execFile(
          process.execPath,
          [BIN, ...args],
          { cwd: h.dir, env: h.env(extra), timeout: opts.timeoutMs ?? 120_000 },
          (err, stdout, stderr) => {
            const code = err ? (err as { code?: unknown }).code : 0;
            done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
          },
        );
      }),
    user: async (name) => {
      const mnemonic = generateMnemonic(wordlist);
      const file = join(h.dir, `${name}.mnemonic`);
      await fsp.writeFile(file, `${mnemonic}\n`, { mode: 0o600 });
      return {
        mnemonic,
        file,
        as: (state) => ['--mnemonic-file', file, '--state', join(h.dir, state)],
      };
    },
  };
  return h;
}
