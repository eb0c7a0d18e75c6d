/** The relative path rules shared by the manifest decoder and the archive guards (FORMAT.md §8.5). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { comparePaths, parentPath, relativePathProblem } from '../src/paths.ts';

describe('relativePathProblem', () => {
  it('accepts relative paths of safe segments', () => {
    for (const p of [
      'a',
      'wallet.sqlite',
      'a/b/c',
      '.hidden',
      '..x',
      'x..',
      'é/日本/🔑',
      'a b/c-d_e.f',
    ])
      expect(relativePathProblem(p), p).toBeUndefined();
    expect(relativePathProblem('a/'.repeat(63) + 'b')).toBeUndefined(); // 64 segments
    expect(relativePathProblem('x'.repeat(4096))).toBeUndefined();
    expect(relativePathProblem('é'.repeat(2048))).toBeUndefined(); // 4,096 bytes of UTF-8
  });

  it('names the rule each unsafe path breaks, never the path', () => {
    const cases: [string, string][] = [
      ['a\0b', 'path contains NUL'],
      ['', 'empty path'],
      ['a\\b', 'backslash in path'],
      ['/etc/passwd', 'absolute path'],
      ['C:x', 'drive letter in path'],
      ['a\uD800b', 'path is not valid Unicode'],
      ['b\uDC00', 'path is not valid Unicode'],
      ['x'.repeat(4097), 'path too long'],
      ['é'.repeat(2049), 'path too long'],
      ['a/'.repeat(64) + 'b', 'path nested too deep'],
      ['a//b', 'empty path segment'],
      ['a/', 'empty path segment'],
      ['../x', 'parent directory (..) segment'],
      ['a/..', 'parent directory (..) segment'],
      ['./a', 'current directory (.) segment'],
      ['a/./b', 'current directory (.) segment'],
    ];
    for (const [p, rule] of cases) expect(relativePathProblem(p), JSON.stringify(p)).toBe(rule);
    expect(() => relativePathProblem(3 as unknown as string)).toThrow(TypeError);
  });
});

describe('parentPath', () => {
  it('drops the last segment', () => {
    expect(parentPath('a/b/c')).toBe('a/b');
    expect(parentPath('a')).toBeUndefined();
  });
});

describe('comparePaths', () => {
  it('is UTF-8 byte order', () => {
    const utf8 = (s: string) => Buffer.from(s, 'utf8');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(Math.sign(comparePaths(a, b))).toBe(Math.sign(Buffer.compare(utf8(a), utf8(b))));
      }),
      { numRuns: 500 },
    );
    // Where UTF-16 order differs: U+FFFD sorts before U+1F511 in UTF-8, after it in UTF-16.
    expect(comparePaths('\uFFFD', '🔑')).toBeLessThan(0);
    expect('\uFFFD' < '🔑').toBe(false);
    expect(['b', 'a/b', 'a-b', 'a'].sort(comparePaths)).toEqual(['a', 'a-b', 'a/b', 'b']);
  });
});
