/**
 * Guarded, streaming tar extraction: the archive is parsed as it arrives and each file
 * is written as its bytes come, so memory stays constant at any size.
 * @module
 */
import { NoahError } from '@noah-backup/core/errors';
import tar from 'tar-stream';
import { type EntryGuard, unsafeArchive } from './guards.ts';
import type { TreeWriter } from './tree-writer.ts';
import { drained } from './fs-util.ts';

/**
 * Extracts the tar stream `source` through `writer`. Only `file` and `directory` entries
 * are accepted (no symlinks, hard links, devices, FIFOs); names and sizes go through
 * `guard`. A malformed archive (bad checksum, truncated, a size field that lies) is
 * refused as `unsafe_archive`.
 *
 * If `source` itself throws (e.g. a decryption failure detected late), that original
 * error is rethrown unchanged.
 * @param source - the archive bytes
 * @param writer - where entries are written
 * @param guard - the limits of this extraction
 * @param signal - aborts between chunks
 */
export async function extractTar(
  source: AsyncIterable<Uint8Array>,
  writer: TreeWriter,
  guard: EntryGuard,
  signal?: AbortSignal,
): Promise<void> {
  const extract = tar.extract();
  let sourceError: { error: unknown } | undefined;
  // The parser's own error (bad checksum, unexpected end…); entry streams then fail
  // with a generic "destroyed" error, so it is kept to classify the failure.
  let parseError: Error | undefined;
  extract.on('error', (e: Error) => {
    parseError ??= e;
  });
  const closed = new Promise<void>((resolve) => extract.once('close', () => resolve()));

  const feeding = (async () => {
    try {
      for await (const chunk of source) {
        signal?.throwIfAborted();
        if (extract.destroyed) return;
        if (!extract.write(chunk)) await drained(extract);
      }
      extract.end(undefined); // streamx's typings require an argument
    } catch (error) {
      sourceError = { error };
      extract.destroy(error instanceof Error ? error : new Error('archive source failed'));
    }
  })();

  try {
    for await (const entry of extract) {
      const h = entry.header;
      if (h.type === 'directory') {
        await writer.mkdir(guard.admit(h.name, 'directory'));
        entry.resume();
      } else if (h.type === 'file') {
        const rel = guard.admit(h.name, 'file', h.size ?? 0);
        await writer.writeFile(rel, entry as AsyncIterable<Uint8Array>);
      } else {
        throw unsafeArchive(`${h.type ?? 'unknown'} entries are not allowed (only files and dirs)`);
      }
    }
  } catch (e) {
    extract.destroy();
    await closed;
    if (sourceError) throw sourceError.error;
    if (e instanceof NoahError) throw e;
    if (parseError) throw unsafeArchive(`malformed tar (${parseError.message})`, parseError);
    if (isTarFormatError(e)) throw unsafeArchive(`malformed tar (${(e as Error).message})`, e);
    throw e;
  }
  await feeding;
  if (sourceError) throw sourceError.error;
}

/** tar-stream's parse errors (plain Errors), as opposed to I/O errors (with a `code`). */
function isTarFormatError(e: unknown): boolean {
  return e instanceof Error && e.name === 'Error' && !('code' in e);
}
