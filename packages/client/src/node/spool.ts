/**
 * The Node `Spooler`: writes a stream (the encrypted backup) to a private temp file so
 * its size is known before upload (Content-Length), and re-reads it for each retry.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SpooledBlob, Spooler } from '../ports.ts';
import { batchedWriter, mapSpaceError } from './fs-util.ts';
import { removeLeftoversOfGone } from './process.ts';
import { throwIfAborted } from '../errors.ts';

/** Upload read size: 256 KiB, one v2 chunk, a quarter of the syscalls of 64 KiB. */
const READ_CHUNK = 256 * 1024;
/** `noah-spool-<pid>-<random>`: the pid tells a killed run's file from a live one's. */
const SPOOL_NAME = /^noah-spool-(\d+)-[0-9a-f]+$/;

/**
 * Creates a spooler writing temp files (mode 0600) under `tmpDir`.
 * `spool` writes the whole stream (no fsync: a spool never outlives its upload); if the
 * stream throws, the file is removed and the error rethrown. Spool files that a killed
 * process left are removed first. The blob's `open()` streams the file from the start in
 * 256 KiB chunks and may be called again (upload retries); `cleanup()` unlinks it
 * (idempotent).
 * @param tmpDir - directory for the temp files (default: the OS temp dir)
 * @returns the spooler
 * @example
 * const blob = await createFileSpooler().spool(encrypted);
 * try { await upload(blob.open(), blob.size); } finally { await blob.cleanup(); }
 */
export function createFileSpooler(tmpDir?: string): Spooler {
  if (tmpDir !== undefined && typeof tmpDir !== 'string')
    throw new TypeError('tmpDir must be a string');
  const dir = resolve(tmpDir ?? tmpdir());
  return {
    async spool(data, opts): Promise<SpooledBlob> {
      throwIfAborted(opts?.signal);
      await fsp.mkdir(dir, { recursive: true });
      await removeLeftoversOfGone(dir, SPOOL_NAME);
      const path = join(dir, `noah-spool-${process.pid}-${randomBytes(8).toString('hex')}`);
      const fh = await fsp.open(path, 'wx', 0o600);
      let size = 0;
      const out = batchedWriter(fh);
      try {
        for await (const chunk of data) {
          throwIfAborted(opts?.signal);
          await out.write(chunk);
          size += chunk.length;
        }
        // No fsync: the spool is read back at once and removed after the upload; a crash
        // leaves a leftover that the next spool removes (removeLeftoversOfGone), never a
        // backup. (Page-cache contents are what the upload reads either way.)
        await out.flush();
      } catch (e) {
        await out.abandon();
        await fh.close();
        await fsp.rm(path, { force: true });
        throw mapSpaceError(e, 'spooling');
      }
      await fh.close();
      return {
        size,
        open: () => readFileChunks(path),
        cleanup: () => fsp.rm(path, { force: true }),
      };
    },
  };
}

async function* readFileChunks(path: string): AsyncGenerator<Uint8Array> {
  const rs = createReadStream(path, { highWaterMark: READ_CHUNK });
  try {
    for await (const chunk of rs) yield chunk as Uint8Array;
  } finally {
    rs.destroy();
  }
}
