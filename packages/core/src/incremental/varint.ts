/**
 * The byte-level encoding of the manifest (FORMAT.md §8.4): big-endian fixed-size
 * integers and unsigned LEB128 varints, at most 9 bytes, minimal, and never above
 * 2^53 − 1. A writer that grows as needed and a bounds-checked reader whose every failure
 * is the caller's error.
 * @module
 */

/** Longest varint: 9 bytes (63 bits). */
export const MAX_VARINT_BYTES = 9;

/** Appends manifest fields to a growing buffer. */
export interface FieldWriter {
  u8(n: number): void;
  u32(n: number): void;
  /** Unsigned LEB128, minimal; `n` a safe non-negative integer. */
  varint(n: number): void;
  bytes(b: Uint8Array): void;
  /** The bytes written (a view; the writer must not be used after). */
  finish(): Uint8Array;
}

/** A new {@link FieldWriter}. */
export function fieldWriter(initial = 4096): FieldWriter {
  let buf = new Uint8Array(initial);
  let len = 0;
  const room = (n: number) => {
    if (len + n <= buf.length) return;
    const next = new Uint8Array(Math.max(buf.length * 2, len + n));
    next.set(buf.subarray(0, len));
    buf = next;
  };
  return {
    u8(n) {
      room(1);
      buf[len++] = n;
    },
    u32(n) {
      room(4);
      new DataView(buf.buffer).setUint32(len, n);
      len += 4;
    },
    varint(n) {
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint out of range: ${n}`);
      room(MAX_VARINT_BYTES);
      // Division, not shifts: JavaScript's bit operators are 32-bit.
      while (n >= 0x80) {
        buf[len++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
      buf[len++] = n;
    },
    bytes(b) {
      room(b.length);
      buf.set(b, len);
      len += b.length;
    },
    finish: () => buf.subarray(0, len),
  };
}

/** Reads manifest fields; every failure is `fail(rule)`. */
export interface FieldReader {
  u8(): number;
  u32(): number;
  varint(): number;
  /** `n` bytes (a view into the input). */
  bytes(n: number): Uint8Array;
  /** Bytes not yet read. */
  remaining(): number;
}

/**
 * A bounds-checked reader over `input`.
 * @param fail - builds the error for a broken rule (thrown by the reader)
 */
export function fieldReader(input: Uint8Array, fail: (rule: string) => Error): FieldReader {
  let pos = 0;
  const need = (n: number) => {
    if (input.length - pos < n) throw fail('ends inside a field');
  };
  return {
    u8() {
      need(1);
      return input[pos++]!;
    },
    u32() {
      need(4);
      const v = new DataView(input.buffer, input.byteOffset + pos, 4).getUint32(0);
      pos += 4;
      return v;
    },
    varint() {
      let value = 0;
      for (let i = 0; i < MAX_VARINT_BYTES; i++) {
        need(1);
        const b = input[pos++]!;
        value += (b & 0x7f) * 2 ** (7 * i);
        if (b < 0x80) {
          // Minimal: a varint of more than one byte never ends with a zero byte.
          if (b === 0 && i > 0) throw fail('varint not minimally encoded');
          if (value > Number.MAX_SAFE_INTEGER) throw fail('varint above 2^53 - 1');
          return value;
        }
      }
      throw fail('varint longer than 9 bytes');
    },
    bytes(n) {
      need(n);
      pos += n;
      return input.subarray(pos - n, pos);
    },
    remaining: () => input.length - pos,
  };
}
