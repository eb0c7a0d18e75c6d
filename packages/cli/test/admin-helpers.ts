/**
 * Running `noah-backup admin …` as a black box: the real binary, with only PATH from
 * this environment plus the server configuration a test gives.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

/** The CLI entry point. */
export const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');

/** The outcome of one run (`code` -1 when it ended by a signal or its timeout). */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI with `args` and only PATH plus `env` in its environment.
 * @param args - the arguments after the binary
 * @param env - the variables it sees besides PATH
 */
export function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 120_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code as number) : 0;
        done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}
