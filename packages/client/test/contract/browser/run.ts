/**
 * Runs contract kits in headless Chromium: bundles `entry.ts` (the kits and the browser
 * implementations, with `vitest` aliased to `vitest-shim.ts`) with Vite, serves it from
 * a loopback port (a real origin, so the page has its own `localStorage`), opens it, and
 * hands the Node side each recorded test to run in the page.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'vite';
import { launchChromium } from '../../../../web/test/helpers/harness.ts';
import { tempDir } from '../../fixtures/node-helpers.ts';

/** The opened page. */
export interface KitPage {
  /** The tests the page recorded, by full name. */
  readonly names: readonly string[];
  /** Runs one in the page; rejects with its failure. */
  run(name: string): Promise<void>;
  close(): Promise<void>;
}

const PAGE = '<!doctype html><meta charset="utf-8"><script type="module" src="/kit.js"></script>';

/** Bundles, serves and opens the kits' page. */
export async function openKitPage(): Promise<KitPage> {
  const out = await tempDir('noah-kit-');
  await build({
    configFile: false,
    logLevel: 'warn',
    resolve: { alias: { vitest: join(import.meta.dirname, 'vitest-shim.ts') } },
    build: {
      outDir: out,
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
      lib: {
        entry: join(import.meta.dirname, 'entry.ts'),
        formats: ['es'],
        fileName: () => 'kit.js',
      },
    },
  });
  const script = readFileSync(join(out, 'kit.js'));
  const wasm = readFileSync(
    createRequire(import.meta.url).resolve('sql.js/dist/sql-wasm-browser.wasm'),
  );
  const server = createServer((req, res) => {
    if (req.url === '/sql-wasm.wasm') {
      res.writeHead(200, { 'content-type': 'application/wasm' });
      res.end(wasm);
      return;
    }
    const js = req.url === '/kit.js';
    res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html' });
    res.end(js ? script : PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => 'kit' in globalThis, undefined, { timeout: 20_000 });
  type Kit = { names(): string[]; run(name: string): Promise<string | null> };
  const names = await page.evaluate(() => (globalThis as unknown as { kit: Kit }).kit.names());
  return {
    names,
    async run(name) {
      const failure = await page.evaluate(
        (n) => (globalThis as unknown as { kit: Kit }).kit.run(n),
        name,
      );
      if (failure !== null) throw new Error(`in Chromium: ${failure}`);
      if (errors.length > 0) throw new Error(`page errors: ${errors.splice(0).join('; ')}`);
    },
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
