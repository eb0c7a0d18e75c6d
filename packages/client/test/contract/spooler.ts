/**
 * The contract of `Spooler` (`src/ports.ts`) as a kit, run on every platform's spooler:
 * in Node (`node.test.ts`) and in headless Chromium (`web.test.ts`). Platform-neutral:
 * it imports nothing of Node, so the browser bundle runs it as it is.
 * @module
 */
import { equalBytes } from '@noah-backup/core/bytes';
import { collect, fromBytes } from '@noah-backup/core/stream';
import { describe, expect, it } from 'vitest';
import type { Spooler } from '../../src/ports.ts';

/** 3 MiB and 17 bytes of a pattern, in chunks of 100,000 bytes. */
function pattern(): Uint8Array {
  return new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 0xff);
}

/**
 * Runs the contract on one implementation.
 * @param name - the implementation, e.g. "Node (temp files)"
 * @param factory - a fresh spooler per test
 */
export function spoolerContract(name: string, factory: () => Spooler | Promise<Spooler>): void {
  describe(`Spooler contract: ${name}`, () => {
    it('spools a stream: its exact size, its bytes, again for a retry', async () => {
      const data = pattern();
      const blob = await (await factory()).spool(fromBytes(data, 100_000));
      try {
        expect(blob.size).toBe(data.length);
        // equalBytes: a deep toEqual of 3 MiB takes seconds.
        expect(equalBytes(await collect(blob.open()), data)).toBe(true);
        expect(equalBytes(await collect(blob.open()), data)).toBe(true);
      } finally {
        await blob.cleanup();
      }
    });

    it('spools an empty stream: size 0, nothing to read', async () => {
      const blob = await (await factory()).spool(fromBytes(new Uint8Array(0)));
      expect(blob.size).toBe(0);
      expect((await collect(blob.open())).length).toBe(0);
      await blob.cleanup();
    });

    it('cleanup is idempotent, and reading afterwards fails', async () => {
      const blob = await (await factory()).spool(fromBytes(pattern(), 100_000));
      await blob.cleanup();
      await blob.cleanup();
      await expect(async () => collect(blob.open())).rejects.toThrow();
    });

    it('a source that fails: spool rejects with its error', async () => {
      const boom = new Error('upstream failed');
      async function* source() {
        yield new Uint8Array(1000);
        throw boom;
      }
      await expect((await factory()).spool(source())).rejects.toBe(boom);
    });

    it('an abort while spooling: spool rejects', async () => {
      const stop = new AbortController();
      async function* source() {
        yield new Uint8Array(1000);
        stop.abort();
        yield new Uint8Array(1000);
      }
      const spooler = await factory();
      await expect(spooler.spool(source(), { signal: stop.signal })).rejects.toThrow();
    });
  });
}
