/**
 * The browser's `Spooler` (contract: `../ports.ts`): holds the encrypted backup in a
 * `Blob` so its exact size is known before the upload (Content-Length) and a retry can
 * read it again. Blobs may be paged to disk by the browser, so large backups do not have
 * to stay in the JS heap.
 * @module
 */
import type { SpooledBlob, Spooler } from '../ports.ts';
import { throwIfAborted } from '../errors.ts';

/** A spooled backup that also offers its `Blob`: `fetch` uploads a Blob natively,
 * with its length, where a streamed request body would need HTTP/2. */
export type BlobSpooledBlob = SpooledBlob & { readonly blob: Blob };

/** Reads a Blob as a stream of chunks. */
async function* readBlob(blob: Blob): AsyncIterable<Uint8Array> {
  const reader = blob.stream().getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Creates a spooler that keeps each spooled blob in memory (a `Blob`).
 *
 * @returns a `Spooler` for `createBackupManager`
 * @example
 * ```ts
 * const blob = await createMemorySpooler().spool(ciphertext);
 * await upload(blob.open(), blob.size);
 * ```
 */
export function createMemorySpooler(): Spooler & {
  spool(...args: Parameters<Spooler['spool']>): Promise<BlobSpooledBlob>;
} {
  return {
    async spool(data, opts): Promise<BlobSpooledBlob> {
      const parts: Uint8Array<ArrayBuffer>[] = [];
      for await (const chunk of data) {
        throwIfAborted(opts?.signal);
        // Copy: the producer may reuse its buffer, and Blob parts need an ArrayBuffer.
        parts.push(new Uint8Array(chunk));
      }
      const blob = new Blob(parts);
      parts.length = 0;
      let live = true;
      return {
        size: blob.size,
        blob,
        open() {
          if (!live) throw new Error('the spooled backup was already cleaned up');
          return readBlob(blob);
        },
        async cleanup() {
          live = false;
        },
      };
    },
  };
}
