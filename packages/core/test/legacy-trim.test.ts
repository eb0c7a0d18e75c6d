/**
 * The legacy `trim` (FORMAT.md §3.1) is spelled out as a character class because Hermes
 * cannot parse `\p{White_Space}`: over every code point, it trims exactly the code points
 * FORMAT.md §3.1 lists, and that list is exactly Unicode's White_Space property.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { legacyTrim } from '../src/legacy.ts';

/** The code points FORMAT.md §3.1 lists, read from the document itself. */
function formatList(): Set<number> {
  const doc = readFileSync(join(import.meta.dirname, '../../../docs/FORMAT.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### 3.1 Password'), doc.indexOf('### 3.2 Key'));
  const list = /White_Space` property\s*\(([^)]*)\)/.exec(section)?.[1];
  if (!list) throw new Error('FORMAT.md §3.1 no longer lists the White_Space code points');
  const out = new Set<number>();
  for (const item of list.split(',')) {
    const m = /^U\+([0-9A-F]{4})(?:–U\+([0-9A-F]{4}))?$/.exec(item.trim().replace(/\s+/g, ''));
    if (!m) throw new Error(`unexpected item in FORMAT.md §3.1: ${item}`);
    const lo = Number.parseInt(m[1]!, 16);
    const hi = m[2] ? Number.parseInt(m[2], 16) : lo;
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return out;
}

describe('legacy trim without \\p{White_Space}', () => {
  it('FORMAT.md §3.1 lists exactly Unicode White_Space', () => {
    const listed = formatList();
    expect(listed.size).toBe(25);
    const property = /^\p{White_Space}$/u;
    for (let c = 0; c <= 0x10ffff; c++)
      if (property.test(String.fromCodePoint(c)) !== listed.has(c))
        throw new Error(`U+${c.toString(16)}: property and FORMAT.md disagree`);
  });

  it('trims exactly the listed code points, leading and trailing, and nothing inside', () => {
    const listed = formatList();
    for (let c = 0; c <= 0x10ffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue; // lone surrogates: below
      const ch = String.fromCodePoint(c);
      const want = listed.has(c) ? `a${ch}b` : `${ch}${ch}a${ch}b${ch}`;
      const got = legacyTrim(`${ch}${ch}a${ch}b${ch}`);
      if (got !== want) throw new Error(`U+${c.toString(16)}: got ${JSON.stringify(got)}`);
    }
    // Lone surrogates and U+FEFF (which String.prototype.trim removes) stay.
    expect(legacyTrim('\ud800 x \udfff')).toBe('\ud800 x \udfff');
    expect(legacyTrim('\ufeffx\ufeff')).toBe('\ufeffx\ufeff');
    expect(legacyTrim('\u3000\t\u2028\u00a0 \n')).toBe('');
  });
});
