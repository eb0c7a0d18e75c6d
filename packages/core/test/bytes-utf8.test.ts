/**
 * `bytesToUtf8Js`, the strict UTF-8 decoder for engines without TextDecoder (Hermes),
 * against TextDecoder's fatal mode: the same text or the same refusal for every one-,
 * two- and three-byte input from a set covering every lead byte, for every four-byte lead
 * with its boundary continuations, and for random and near-valid longer inputs.
 */
import { describe, expect, it } from 'vitest';
import { bytesToUtf8, bytesToUtf8Js } from '../src/bytes.ts';
import { fixedRandom } from './v2-helpers.ts';

const reference = new TextDecoder('utf-8', { fatal: true });

/** Decodes with both; returns a mismatch description or undefined. */
function mismatch(bytes: Uint8Array): string | undefined {
  let want: string | undefined;
  let got: string | undefined;
  try {
    want = reference.decode(bytes);
  } catch {}
  try {
    got = bytesToUtf8Js(bytes);
  } catch (e) {
    if (!(e instanceof TypeError)) return `not a TypeError: ${e}`;
  }
  return want === got ? undefined : `${Buffer.from(bytes).toString('hex')}: ${want} vs ${got}`;
}

describe('bytesToUtf8Js: the WHATWG fatal UTF-8 decoder in plain JavaScript', () => {
  it('every 1- and 2-byte input, and 3-byte inputs over boundary continuation bytes', () => {
    const edge = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xe0, 0xf0];
    for (let a = 0; a < 256; a++) {
      const one = mismatch(Uint8Array.of(a));
      if (one) throw new Error(one);
      for (let b = 0; b < 256; b++) {
        const two = mismatch(Uint8Array.of(a, b));
        if (two) throw new Error(two);
      }
      for (const b of edge)
        for (const c of edge) {
          const three = mismatch(Uint8Array.of(a, b, c));
          if (three) throw new Error(three);
        }
    }
  });

  it('every 4-byte lead with boundary continuations, and the BOM', () => {
    const edge = [0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0];
    for (let a = 0xe0; a < 256; a++)
      for (const b of edge)
        for (const c of edge)
          for (const d of edge) {
            const m = mismatch(Uint8Array.of(a, b, c, d));
            if (m) throw new Error(m);
          }
    for (const bom of [
      [0xef, 0xbb, 0xbf],
      [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x41],
      [0x41, 0xef, 0xbb, 0xbf],
    ])
      expect(mismatch(Uint8Array.from(bom))).toBeUndefined();
  });

  it('random bytes, and long valid text with one byte changed', () => {
    const rnd = fixedRandom(8);
    for (let i = 0; i < 2000; i++) expect(mismatch(rnd(1 + (i % 40)))).toBeUndefined();
    const text = new TextEncoder().encode('aé€😀日本語 \u0000\u{10ffff}'.repeat(2000));
    expect(bytesToUtf8Js(text)).toBe(reference.decode(text));
    for (let i = 0; i < 300; i++) {
      const bad = text.slice();
      bad[(i * 7919) % bad.length] = rnd(1)[0]!;
      expect(mismatch(bad)).toBeUndefined();
    }
  });

  it('bytesToUtf8 uses it where TextDecoder is missing', () => {
    const saved = globalThis.TextDecoder;
    try {
      // biome-ignore lint/suspicious/noExplicitAny: removing a global to stand in for Hermes
      (globalThis as any).TextDecoder = undefined;
      expect(bytesToUtf8(Uint8Array.of(0xe2, 0x82, 0xac))).toBe('€');
      expect(() => bytesToUtf8(Uint8Array.of(0xed, 0xa0, 0x80))).toThrow(TypeError);
    } finally {
      globalThis.TextDecoder = saved;
    }
  });
});
