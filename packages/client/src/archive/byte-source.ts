/**
 * Pull-style reads over a stream of byte chunks of any size: exactly n bytes, at most
 * n bytes, skip n bytes, or everything up to a cap. What a streaming archive parser
 * needs, holding at most one source chunk beyond what the caller keeps.
 * @module
 */
import { collect } from '@noah-backup/core/stream';
import { throwIfAborted } from '../errors.ts';

const EMPTY = new Uint8Array(0);

/** Reads from `source` in order; a stream that ends mid-read throws `truncated()`. */
export class ByteSource {
  private readonly it: AsyncIterator<Uint8Array>;
  private buf: Uint8Array = EMPTY;
  private off = 0;
  private ended = false;

  /**
   * @param source - the bytes
   * @param truncated - the error for a stream that ends in the middle of a read
   * @param signal - checked before each chunk is pulled
   */
  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly truncated: () => Error,
    private readonly signal?: AbortSignal,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** The next bytes, at most `n` (a view of a source chunk), or null at the end. */
  async some(n: number): Promise<Uint8Array | null> {
    while (this.off >= this.buf.length) {
      if (this.ended) return null;
      throwIfAborted(this.signal);
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
        throw this.truncated();
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
      if (chunk === null) throw this.truncated();
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
  all(cap: number, tooLarge: () => Error): Promise<Uint8Array> {
    const rest = async function* (self: ByteSource) {
      let size = 0;
      for (let chunk = await self.some(Infinity); chunk; chunk = await self.some(Infinity)) {
        size += chunk.length;
        if (size > cap) throw tooLarge();
        yield chunk;
      }
    };
    return collect(rest(this));
  }
}
