/**
 * Browser-test harness: builds the web app with Vite (into packages/web/dist, where the
 * server looks for it), starts the real Noah server on a free loopback port over a temp
 * data directory (SQLite metadata, filesystem blob store), and launches the Debian
 * Chromium headless through playwright-core.
 * @module
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '@noah-backup/server/config';
import { type RunningServer, startServer } from '@noah-backup/server/start';
import { type Browser, chromium } from 'playwright-core';
import { build } from 'vite';

/** The web package's directory. */
export const WEB_DIR = resolve(import.meta.dirname, '../..');

/** Builds the app into `packages/web/dist`. */
export async function buildWebApp(): Promise<void> {
  await build({ configFile: join(WEB_DIR, 'vite.config.ts'), logLevel: 'warn' });
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
export async function startAppServer(): Promise<AppServer> {
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
