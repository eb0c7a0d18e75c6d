/**
 * docs/ARCHITECTURE.md names files and folders by path; each one must exist, so the map
 * cannot drift from the tree unnoticed (a file moved or renamed fails here).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const DOC = readFileSync(resolve(ROOT, 'docs/ARCHITECTURE.md'), 'utf8');

/**
 * Every backticked span that is a repository path: segments of word characters, dots and
 * dashes joined by `/` (a folder ends with `/`), or a file name with an extension.
 * Endpoints (`/v0/…`, with a leading slash), package specifiers (`@noah-backup/…`) and
 * code are not paths.
 */
function backtickedPaths(markdown: string): string[] {
  const spans = [...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? '');
  const path = /^[\w.-]+(\/[\w.-]+)*\/?$/;
  const named = (s: string) => s.includes('/') || /\.(ts|tsx|js|json|md)$/.test(s);
  return [...new Set(spans.filter((s) => path.test(s) && named(s)))];
}

describe('docs/ARCHITECTURE.md', () => {
  const paths = backtickedPaths(DOC);

  it('names the modules by path', () => {
    expect(paths.length).toBeGreaterThan(50);
  });

  it('names only paths that exist', () => {
    expect(paths.filter((p) => !existsSync(resolve(ROOT, p)))).toEqual([]);
  });

  it('answers where the S3 presigning, the chunk nonce, the daily pick and the swap are', () => {
    for (const file of [
      'packages/server/src/blob/s3.ts',
      'packages/core/src/v2/chunks.ts',
      'packages/server/src/push/job.ts',
      'packages/client/src/node/restore.ts',
    ])
      expect(paths).toContain(file);
  });
});
