/**
 * Pull-style reads over a stream of byte chunks of any size: exactly n bytes, at most
 * n bytes, skip n bytes, or everything up to a cap. What a streaming archive parser
 * needs, holding at most one source chunk beyond what the caller keeps.
 * @module
 */
import { ArchiveError } from './archive.ts';

const EMPTY = new Uint8Array(0);

/** Reads from `source` in order; a stream that ends mid-read is {@link ArchiveError}. */
export class ByteSource {
  private readonly it: AsyncIterator<Uint8Array>;
  private buf: Uint8Array = EMPTY;
  private off = 0;
  private ended = false;

  /**
   * @param source - the bytes
   * @param signal - checked before each chunk is pulled
   */
  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly signal?: AbortSignal,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** The next bytes, at most `n` (a view, valid until the next call), or null at the end. */
  async some(n: number): Promise<Uint8Array | null> {
    while (this.off >= this.buf.length) {
      if (this.ended) return null;
      this.signal?.throwIfAborted();
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return null;
      }
      this.buf = r.value;
      this.off = 0;
    }
    const end = Math.min(this.buf.length, this.off + n);
    const out = this.buf.subarray(this.off, end);
    this.off = end;
    return out;
  }

  /** Exactly `n` bytes (a copy), or null when the stream had ended before any of them. */
  async exact(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const chunk = await this.some(n - at);
      if (chunk === null) {
        if (at === 0) return null;
        throw new ArchiveError('the archive is truncated');
      }
      out.set(chunk, at);
      at += chunk.length;
    }
    return n === 0 ? EMPTY : out;
  }

  /** Skips exactly `n` bytes. */
  async skip(n: number): Promise<void> {
    for (let left = n; left > 0; ) {
      const chunk = await this.some(left);
      if (chunk === null) throw new ArchiveError('the archive is truncated');
      left -= chunk.length;
    }
  }

  /** Stops the source early (a reader that gave up); harmless once it has ended. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.it.return?.();
  }

  /** Everything left, refusing more than `cap` bytes with `tooLarge()`. */
  async all(cap: number, tooLarge: () => Error): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let size = 0;
    for (let chunk = await this.some(Infinity); chunk; chunk = await this.some(Infinity)) {
      size += chunk.length;
      if (size > cap) throw tooLarge();
      parts.push(chunk);
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
