/**
 * Our side of the incremental benchmark: the `noah-backup` CLI against `noah-backup serve`
 * (SQLite + fs blob store in a temp directory, on a loopback port). The server, restic
 * 0.14 with a local repository and GNU time (wall seconds, peak RSS, the same tool for
 * both sides) come from ../runners.ts, which the backup-restore bench shares.
 *
 * Our bytes sent and bytes stored are measured on the server side, from its blob
 * directory (the fs store keeps object `a/b` as the file `<dir>/a/b`, docs/OPERATIONS.md):
 * the bytes of a backup are the sizes of the objects that appeared during it. Keys are
 * never reused, so this counts a one-object backup and a manifest with its packs alike,
 * and it never trusts the client's own account.
 * @module
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Measure, type Serve, timed } from '../runners.ts';

export {
  ensureTool,
  type Measure,
  type ResticBackup,
  resticClient,
  type Serve,
  startServe,
  timed,
} from '../runners.ts';

/** Every object in an fs blob directory: key → size. Temp files (`.…`) are not objects. */
export function blobSizes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string, prefix: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, `${prefix}${e.name}/`);
      else if (e.isFile()) out.set(`${prefix}${e.name}`, statSync(p).size);
    }
  };
  walk(dir, '');
  return out;
}

/** Bytes of the objects in `after` that were not in `before`. */
export function newBytes(before: Map<string, number>, after: Map<string, number>): number {
  let n = 0;
  for (const [key, size] of after) if (!before.has(key)) n += size;
  return n;
}

/** Total bytes of a blob listing. */
export const totalBytes = (m: Map<string, number>): number => {
  let n = 0;
  for (const size of m.values()) n += size;
  return n;
};

/** Bytes of every file under `dir` (restic's repository size). */
export function duBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  return n;
}

/** A backup measured from the server's side. */
export interface OurBackup extends Measure {
  /** Bytes of the objects the server received during the command. */
  bytes: number;
  /** Bytes the server stores after it (every object in the blob store). */
  stored: number;
}

/** One user of our CLI: a seedphrase, a device state directory, a server. */
export function ourClient(o: {
  cli: string;
  serve: Serve;
  mnemonicFile: string;
  state: string;
  cwd: string;
}) {
  const env = { ...process.env, NOAH_SERVER: o.serve.url };
  const cli = (args: string[], state = o.state) =>
    timed([process.execPath, o.cli, ...args, '--mnemonic-file', o.mnemonicFile, '--state', state], {
      cwd: o.cwd,
      env,
    });
  return {
    backup(data: string): OurBackup {
      const before = blobSizes(o.serve.blobDir);
      const m = cli(['backup', '--data', data, '--json']);
      const after = blobSizes(o.serve.blobDir);
      return {
        seconds: m.seconds,
        cpuSeconds: m.cpuSeconds,
        rssMib: m.rssMib,
        bytes: newBytes(before, after),
        stored: totalBytes(after),
      };
    },
    /** Restores slot `version` into `to` as a new phone would (a fresh state directory). */
    restore(version: 1 | 2, to: string, freshState: string): Measure {
      const m = cli(
        ['restore', '--to', to, '--version', String(version), '--yes-older', '--json'],
        freshState,
      );
      return { seconds: m.seconds, cpuSeconds: m.cpuSeconds, rssMib: m.rssMib };
    },
    /** The server's list of this user's backups. */
    list(): { backup_version: 1 | 2; created_at: string; backup_size: number }[] {
      return JSON.parse(cli(['list', '--json']).stdout);
    },
  };
}
