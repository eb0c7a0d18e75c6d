/**
 * The platform seam's strict base64 (FORMAT.md §3.3): node.ts (Buffer) and web.ts
 * (atob/btoa) against @scure/base, an independent implementation, and the same
 * rejections on both.
 */
import { base64 } from '@scure/base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8ToBytes } from '../src/bytes.ts';
import * as node from '../src/platform/node.ts';
import type { Platform } from '../src/platform/types.ts';
import * as web from '../src/platform/web.ts';

const BOTH: Platform[] = [node.platform, web.platform];
const ascii = (s: string) => utf8ToBytes(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe.each(BOTH.map((p) => [p.name, p] as const))('%s base64', (_name, p) => {
  it('agrees with @scure/base both ways, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const enc = p.base64Encode(bytes);
        expect(text(enc)).toBe(base64.encode(bytes));
        expect(p.base64Decode(enc)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips sizes around its internal slice boundaries', () => {
    for (const n of [0, 1, 2, 3, 24575, 24576, 24577, 100_000]) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 131 + 7) & 0xff);
      const enc = p.base64Encode(bytes);
      expect(text(enc)).toBe(base64.encode(bytes));
      expect(Buffer.compare(p.base64Decode(enc), bytes)).toBe(0);
    }
  });

  it('returns buffers it owns (not views into a shared pool)', () => {
    const out = p.base64Decode(ascii('AQID'));
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(3);
  });

  it('rejects anything but canonical padded base64', () => {
    for (const bad of [
      'A',
      'AAE',
      'AAE==',
      'AA==AA==',
      '=AAA',
      'AAF=',
      'AB==',
      '-_8=',
      'AA\nA',
      'AAE\n',
      ' AAE=',
      'AAE=\t',
      'AAEC\u00e9AA=',
      'AA\u0000A',
    ])
      expect(() => p.base64Decode(ascii(bad)), JSON.stringify(bad)).toThrow(SyntaxError);
  });

  it('rejects a single wrong byte at any position of a long text', () => {
    const good = p.base64Encode(new Uint8Array(3000).fill(0x5a));
    for (const pos of [0, 1, 1999, good.length - 1]) {
      const bad = good.slice();
      bad[pos] = 0x2a; // '*'
      expect(() => p.base64Decode(bad)).toThrow(SyntaxError);
    }
  });
});
