/**
 * The CLI killed with SIGKILL mid-way (docs/WALLET.md §3), as a black box against the real
 * server on sqlite+fs and postgres+s3. A preloaded shim (fixtures/stall-network.mjs)
 * stalls the network at a chosen point and says so on stderr, so each kill lands at a
 * known point: during the upload's PUT, between the PUT and complete_upload, during a
 * restore's download (extraction under way), and after a restore's swap. Afterwards the
 * last good backup still lists and restores with its digest, the wallet directory holds
 * the old or the new wallet, the next run is not blocked and cleans up after the killed
 * one, and the server's sweeper removes the abandoned upload and nothing else.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDemoWallet, walletDigest } from '@noah-backup/client/demo-wallet';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../../server/src/sweeper.ts';
import { fullCombos, startTestServer, type TestServer } from '../../server/test/helpers/server.ts';

const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');
const SHIM = resolve(import.meta.dirname, 'fixtures/stall-network.mjs');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe.each(fullCombos)('the CLI killed mid-way, on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  let dir: string;
  let tmp: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'noah-cli-crash-'));
    tmp = join(dir, 'tmp');
    await mkdir(tmp);
    srv = await startTestServer({ ...combo, config: { maxBackupSize: 16 * 2 ** 20 } });
  });
  afterAll(async () => {
    await srv?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({
    PATH: process.env.PATH ?? '',
    HOME: dir,
    TMPDIR: tmp,
    NOAH_SERVER: srv.url,
    ...extra,
  });

  /** Runs the CLI to the end. */
  function cli(args: string[]): Promise<Run> {
    return new Promise((done) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: dir, env: env(), timeout: 120_000 },
        (err, stdout, stderr) => {
          const code = err ? (err as { code?: unknown }).code : 0;
          done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
        },
      );
    });
  }

  /** Starts the CLI with the network stalling at `stall`; resolves once it has stalled. */
  async function stalled(args: string[], stall: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', SHIM, BIN, ...args], {
      cwd: dir,
      env: env({ NOAH_TEST_STALL: stall }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const label = stall
      .split(':')
      .slice(0, stall.startsWith('api') ? 2 : 1)
      .join(':');
    await new Promise<void>((ok, fail) => {
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.split('\n').includes(`stalled ${label}`)) ok();
      });
      child.once('exit', (code) => fail(new Error(`exited ${code} before stalling: ${err}`)));
    });
    return child;
  }

  async function kill(child: ChildProcess): Promise<void> {
    const exit = new Promise<NodeJS.Signals | null>((ok) =>
      child.once('exit', (_c, signal) => ok(signal)),
    );
    child.kill('SIGKILL');
    expect(await exit).toBe('SIGKILL');
  }

  /** A user: a mnemonic in a file; `as(state)` gives the options for a device state dir. */
  async function user(name: string) {
    const file = join(dir, `${name}.mnemonic`);
    await writeFile(file, `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
    return { as: (state: string) => ['--mnemonic-file', file, '--state', join(dir, state)] };
  }

  const objectKeys = async () => {
    const keys = new Set<string>();
    for await (const o of srv.blobs.list('')) keys.add(o.key);
    return keys;
  };

  /** The sweeper, once the upload URLs of this test have expired. */
  const sweepExpired = () => {
    srv.clock.advance(srv.config.uploadUrlTtlSec * 1000 + 1000);
    return sweep({
      metadata: srv.metadata,
      blobs: srv.blobs,
      clock: srv.clock,
      orphanMinAgeSec: srv.config.orphanMinAgeSec,
    });
  };

  /** Names in `in` a run leaves while it works (staging, old copies, temp files). */
  const leftovers = async (inDir: string) =>
    (await readdir(inDir)).filter((n) => /noah-(staging|old|verify|snapshot|spool)/.test(n));

  /** Waits (bounded) for `cond`: for what another process does on its own time. */
  async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if (await cond()) return;
      await sleep(50);
    }
    throw new Error(`gave up waiting for ${what}`);
  }

  /** A user with one good backup of a demo wallet in `name`; its digest and list. */
  async function goodBackup(name: string) {
    const u = await user(name);
    const wallet = join(dir, name);
    await createDemoWallet(wallet, { sizeMb: 2, seed: 21 });
    const r = await cli(['backup', '--data', name, ...u.as(`st-${name}`)]);
    expect(r.code).toBe(0);
    const list = JSON.parse((await cli(['list', '--json', ...u.as(`st-${name}`)])).stdout);
    expect(list).toHaveLength(1);
    return { u, wallet, digest: await walletDigest(wallet), list };
  }

  /** The good backup still lists, and restores on a new device with its digest. */
  async function stillRestores(g: Awaited<ReturnType<typeof goodBackup>>, to: string) {
    const state = g.u.as(`st-${to}`);
    expect(JSON.parse((await cli(['list', '--json', ...state])).stdout)).toEqual(g.list);
    expect((await cli(['restore', '--to', to, ...state])).code).toBe(0);
    expect(await walletDigest(join(dir, to))).toBe(g.digest);
  }

  it('killed during the upload: the previous backup restores, the next run cleans up', async () => {
    await sweepExpired(); // a clean slate for the counts below
    const g = await goodBackup('put');
    const keys = await objectKeys();
    await createDemoWallet(g.wallet, { sizeMb: 2, seed: 22 }); // the wallet moves on

    const child = await stalled(['backup', '--data', 'put', ...g.u.as('st-put')], 'put:65536');
    const partial = async () =>
      (await readdir(join(srv.blob.fs!.dir, 'b'))).some((n) => n.startsWith('.tmp-'));
    if (srv.blob.fs) await until(partial, 'the server to receive the PUT'); // s3: buffered
    await kill(child);
    if (srv.blob.fs) await until(async () => !(await partial()), 'the partial object to go');
    // Nothing half-uploaded became an object. The manifest is sent beside the packs, so
    // it may have landed whole: never completed, it goes with the sweep.
    const landed = [...(await objectKeys())].filter((k) => !keys.has(k));
    expect(landed.length).toBeLessThanOrEqual(1);
    // The killed run's spool file and snapshot copies are still there…
    expect((await leftovers(tmp)).length).toBeGreaterThanOrEqual(2);

    await stillRestores(g, 'put-r1');
    const swept = await sweepExpired();
    expect(swept.errors).toBe(0);
    // The stalled pack's URL, and the manifest's when the run got that far.
    expect(swept.expiredUploads).toBeGreaterThanOrEqual(Math.max(1, landed.length));
    expect(swept.expiredUploads).toBeLessThanOrEqual(2);
    expect(await objectKeys()).toEqual(keys);
    await stillRestores(g, 'put-r2');

    // …until the next run on the same device, which the killed one's lock does not block.
    const next = await cli(['backup', '--data', 'put', '--json', ...g.u.as('st-put')]);
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ sequence: '2' });
    expect(await leftovers(tmp)).toEqual([]);
  });

  it('a second backup while one runs on the device: exit 1 and busy, not a usage error', async () => {
    const g = await goodBackup('busy');
    await createDemoWallet(g.wallet, { sizeMb: 2, seed: 25 }); // new pages to upload
    const child = await stalled(['backup', '--data', 'busy', ...g.u.as('st-busy')], 'put:65536');
    try {
      const r = await cli(['backup', '--data', 'busy', ...g.u.as('st-busy')]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        /^noah-backup: error: a backup or restore is already running on this device \[busy\]\n/,
      );
    } finally {
      await kill(child);
    }
  });

  it('killed between the uploads and complete_upload: the objects are swept, nothing else', async () => {
    await sweepExpired();
    const g = await goodBackup('complete');
    const keys = await objectKeys();
    await createDemoWallet(g.wallet, { sizeMb: 2, seed: 23 });

    const args = ['backup', '--data', 'complete', ...g.u.as('st-complete')];
    await kill(await stalled(args, 'api:complete_upload'));
    // The incremental backup's packs and its manifest: stored, but never completed.
    const uploaded = [...(await objectKeys())].filter((k) => !keys.has(k));
    expect(uploaded.length).toBeGreaterThanOrEqual(2);

    await stillRestores(g, 'complete-r1');
    expect(await sweepExpired()).toMatchObject({ expiredUploads: uploaded.length, errors: 0 });
    for (const key of uploaded) expect(await srv.blobs.head(key)).toBeNull();
    expect(await objectKeys()).toEqual(keys);
    await stillRestores(g, 'complete-r2');
  });

  it('killed during a restore: the old wallet is intact, the next restore completes', async () => {
    const g = await goodBackup('src');
    const target = join(dir, 'dst');
    await createDemoWallet(target, { sizeMb: 1, seed: 24 });
    const old = await walletDigest(target);

    const args = ['restore', '--to', 'dst', ...g.u.as('st-dst')];
    const child = await stalled(args, 'get:65536');
    const staging = async () =>
      (await readdir(dir)).some((n) => n.startsWith('.dst.noah-staging-'));
    await until(staging, 'the restore to start extracting');
    await kill(child);
    expect(await walletDigest(target)).toBe(old);
    expect(await leftovers(dir)).toHaveLength(1); // the killed run's staging directory

    const again = await cli(args);
    expect(again.code).toBe(0);
    expect(await walletDigest(target)).toBe(g.digest);
    expect(await leftovers(dir)).toEqual([]);
  });

  it('killed after the swap, before reporting: the new wallet is in place', async () => {
    const g = await goodBackup('src2');
    const target = join(dir, 'dst2');
    await createDemoWallet(target, { sizeMb: 1, seed: 25 });

    const args = ['restore', '--to', 'dst2', ...g.u.as('st-dst2')];
    await kill(await stalled(args, 'api:report'));
    expect(await walletDigest(target)).toBe(g.digest);
    expect(await leftovers(dir)).toEqual([]);
    expect((await cli(['verify', ...g.u.as('st-dst2')])).code).toBe(0);
  });
});
