/**
 * What the benchmarks that compare us with restic share (backup-restore.bench.ts,
 * incremental.bench.ts): GNU time around every measured process (wall seconds, peak RSS,
 * the same tool for both sides), `noah-backup serve` in its own process, and restic 0.14
 * with a local repository.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
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
        // With the default limit (30 auth requests a minute per IP, a k1 and a login each,
        // so 15 logins), runs close together get a 429 and wait out its Retry-After
        // inside a measured command.
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
      // -q: the summary line only, no status lines (our CLI prints none off a terminal).
      const m = timed(['restic', 'backup', '-q', '--json', data], { cwd, env });
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
