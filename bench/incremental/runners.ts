/**
 * The two sides of the incremental benchmark, as processes: `noah-backup serve` (SQLite +
 * fs blob store in a temp directory, on a loopback port), the `noah-backup` CLI against
 * it, and restic 0.14 with a local repository. Every command is timed by GNU time (wall
 * seconds, peak RSS), the same tool for both sides.
 *
 * Our bytes sent and bytes stored are measured on the server side, from its blob
 * directory (the fs store keeps object `a/b` as the file `<dir>/a/b`, docs/OPERATIONS.md):
 * the bytes of a backup are the sizes of the objects that appeared during it. Keys are
 * never reused, so this counts a one-object backup and a manifest with its packs alike,
 * and it never trusts the client's own account.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * One measured process: wall seconds, CPU seconds (user + system, the process and its
 * children: on a shared machine the wall time is noisy, the CPU time much less so) and
 * peak RSS in MiB.
 */
export interface Measure {
  seconds: number;
  cpuSeconds: number;
  rssMib: number;
}

/** Runs `cmd` under GNU time; throws with its stderr if it fails. */
export function timed(
  cmd: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Measure & { stdout: string } {
  const r = spawnSync('/usr/bin/time', ['-f', 'BENCH %e %M %U %S', ...cmd], {
    cwd: opts.cwd,
    env: opts.env,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const m = /BENCH ([\d.]+) (\d+) ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr ?? '');
  if (r.status !== 0 || !m)
    throw new Error(`${cmd.join(' ')} failed (${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
  return {
    seconds: Number(m[1]),
    cpuSeconds: Number(m[3]) + Number(m[4]),
    rssMib: Number(m[2]) / 1024,
    stdout: r.stdout,
  };
}

/** Installs a Debian package if `bin` is not on PATH. */
export function ensureTool(bin: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0) return;
  console.log(`installing ${pkg} (apt-get)…`);
  let r = spawnSync('apt-get', ['install', '-y', pkg], { stdio: 'ignore' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    r = spawnSync('apt-get', ['install', '-y', pkg], { stdio: 'ignore' });
  }
  if (r.status !== 0) throw new Error(`${bin} is missing and apt-get install ${pkg} failed`);
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const { port } = srv.address() as { port: number };
  await new Promise((ok) => srv.close(ok));
  return port;
}

/** A running `noah-backup serve`. */
export interface Serve {
  url: string;
  /** Its fs blob store's directory. */
  blobDir: string;
  stop(): Promise<void>;
}

/**
 * `noah-backup serve` (the script `bin`) on embedded defaults in `dir`, rate limits
 * lifted (the bench times the client, not the limiter); resolves once listening.
 */
export async function startServe(bin: string, dir: string): Promise<Serve> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, 'serve', '--data', dir, '--port', String(port)],
    {
      env: {
        ...process.env,
        PUBLIC_URL: url,
        LOG_LEVEL: 'warn',
        MAX_BACKUP_SIZE: '5GiB',
        RATE_LIMIT_AUTH_PER_MINUTE: '100000',
        RATE_LIMIT_USER_PER_MINUTE: '100000',
        // A backup of several objects makes a request to /blob/* per object.
        RATE_LIMIT_BLOB_PER_MINUTE: '100000',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((ok, fail) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening on')) ok();
    });
    child.once('exit', (code) => fail(new Error(`serve exited with ${code}: ${out}`)));
  });
  return {
    url,
    blobDir: join(dir, 'blobs'),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((ok) => child.once('exit', ok));
    },
  };
}

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

/** A restic backup: its measure and `data_added` of its JSON summary. */
export interface ResticBackup extends Measure {
  added: number;
}

/** restic with a local repository at `repo` (password from RESTIC_PASSWORD). */
export function resticClient(repo: string, cwd: string) {
  const env = { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: 'bench' };
  return {
    init(): void {
      const r = spawnSync('restic', ['init', '-q'], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`restic init failed: ${r.stderr}`);
    },
    backup(data: string): ResticBackup {
      const m = timed(['restic', 'backup', '--json', data], { cwd, env });
      const summary = m.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { message_type?: string; data_added?: number })
        .find((j) => j.message_type === 'summary');
      if (summary?.data_added === undefined) throw new Error('restic backup: no JSON summary');
      return {
        seconds: m.seconds,
        cpuSeconds: m.cpuSeconds,
        rssMib: m.rssMib,
        added: summary.data_added,
      };
    },
    restore(to: string): Measure {
      const m = timed(['restic', 'restore', '-q', 'latest', '--target', to], { cwd, env });
      return { seconds: m.seconds, cpuSeconds: m.cpuSeconds, rssMib: m.rssMib };
    },
  };
}
