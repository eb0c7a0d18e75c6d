/**
 * Browser-test harness: builds the web app with Vite (into packages/web/dist, where the
 * server looks for it), starts the real Noah server on a free loopback port over a temp
 * data directory (SQLite metadata, filesystem blob store), and launches the Debian
 * Chromium headless through playwright-core.
 * @module
 */
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { loadConfig } from '@noah-backup/server/config';
import { type RunningServer, startServer } from '@noah-backup/server/start';
import { type Browser, chromium } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll } from 'vitest';

/** The web package's directory. */
export const WEB_DIR = resolve(import.meta.dirname, '../..');

const REPO = resolve(WEB_DIR, '../..');
/** What the build reads: a change in any of them means a new build. */
const BUILD_INPUTS = [
  'packages/web/src',
  'packages/web/index.html',
  'packages/web/vite.config.ts',
  'packages/client/src',
  'packages/core/src',
  'package-lock.json',
];
const STAMP = join(WEB_DIR, 'dist', '.source-hash');
/** One lock per checkout, outside it (a killed run leaves nothing in the tree). */
const LOCK = join(
  tmpdir(),
  `noah-web-build-${createHash('sha256').update(WEB_DIR).digest('hex').slice(0, 12)}`,
);

function sourceHash(): string {
  const h = createHash('sha256');
  for (const input of BUILD_INPUTS) {
    const abs = join(REPO, input);
    const files = statSync(abs).isDirectory() ? filesUnder(abs).sort() : [abs];
    for (const f of files) h.update(`${relative(REPO, f)}\0`).update(readFileSync(f));
  }
  return h.digest('hex');
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Takes the build lock (a directory holding the owner's pid); frees one left by a dead run. */
async function lockBuild(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch {
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
      } catch {}
      if (Number.isInteger(owner) && !alive(owner)) rmSync(LOCK, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Builds the app into `packages/web/dist` unless it is already built from these sources.
 * Test files run in parallel processes, each serving `dist`: one builds while the others
 * wait, and none rebuilds (emptying `dist`) under another's running server.
 */
export async function buildWebApp(): Promise<void> {
  await lockBuild();
  try {
    const hash = sourceHash();
    let built = '';
    try {
      built = readFileSync(STAMP, 'utf8');
    } catch {}
    if (built === hash) return;
    await build({ configFile: join(WEB_DIR, 'vite.config.ts'), logLevel: 'warn' });
    writeFileSync(STAMP, hash);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** A running server with its temp data directory. */
export interface AppServer {
  url: string;
  dataDir: string;
  server: RunningServer;
  close(): Promise<void>;
}

/**
 * Starts the real server (the same `startServer` as `noah-backup serve`) serving the
 * built app. The public URL is the bound 127.0.0.1 address, so the page and the signed
 * blob URLs share one origin.
 */
export async function startAppServer(env: Record<string, string> = {}): Promise<AppServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'noah-web-journey-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    PUBLIC_URL: url,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_AUTH_PER_MINUTE: '1000',
    ...env,
  });
  const server = await startServer(config);
  return {
    url,
    dataDir,
    server,
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Launches headless Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** The app under test of one test file: its server and a headless Chromium. */
export interface AppUnderTest {
  readonly srv: AppServer;
  readonly browser: Browser;
}

/**
 * Builds the app (if its sources changed), starts the server (with `env` over the
 * test configuration, e.g. `{ ROLLOUT: 'off' }`) and Chromium before the file's tests, and closes both after them. Read the fields inside tests and hooks.
 */
export function setupApp(env: Record<string, string> = {}): AppUnderTest {
  const app = {} as { srv: AppServer; browser: Browser };
  beforeAll(async () => {
    await buildWebApp();
    app.srv = await startAppServer(env);
    app.browser = await launchChromium();
  });
  afterAll(async () => {
    await app.browser?.close();
    await app.srv?.close();
  });
  return app;
}

/** Every regular file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** True if any file under `dir` contains `needle` (as UTF-8 bytes). */
export function anyFileContains(dir: string, needle: string): boolean {
  const bytes = Buffer.from(needle, 'utf8');
  return filesUnder(dir).some((f) => readFileSync(f).includes(bytes));
}
