/**
 * The failure classes of `admin import-noah` that no store can be driven into from
 * outside: an error that names no store, or that a store's class does not know, is
 * `import_failed` (exit 70, a bug), never one of the store classes with a wrong hint.
 * The stores' classes are driven through the real binary in
 * admin-import-noah-errors.test.ts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ImportStoreError } from '@noah-backup/server/import-noah/errors';
import { describe, expect, it } from 'vitest';
import {
  classifyImportFailure,
  IMPORT_FAILURE_EXITS,
} from '../src/commands/admin-import-errors.ts';

describe('classifyImportFailure', () => {
  it('an error without a store is import_failed, exit 70, its first line kept', () => {
    const f = classifyImportFailure(new TypeError('x is undefined\n    at y (z.ts:1:1)'));
    expect(f).toEqual({
      code: 'import_failed',
      exit: 70,
      message: 'the import failed unexpectedly: x is undefined',
      hint: expect.stringMatching(/^this is a bug: report it/),
    });
  });

  it('a database or bucket error of a kind no class knows is import_failed', () => {
    const pgOther = Object.assign(new Error('division by zero'), { code: '22012' });
    expect(classifyImportFailure(new ImportStoreError('noah_database', pgOther)).code).toBe(
      'import_failed',
    );
    const s3Other = Object.assign(new Error('bad request'), { $metadata: { httpStatusCode: 400 } });
    expect(classifyImportFailure(new ImportStoreError('noah_bucket', s3Other)).code).toBe(
      'import_failed',
    );
  });

  it('names the store from the error, whatever the message says', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    expect(classifyImportFailure(new ImportStoreError('noah_database', refused))).toMatchObject({
      code: 'noah_database_unreachable',
      exit: 69,
    });
    expect(classifyImportFailure(new ImportStoreError('database', refused))).toMatchObject({
      code: 'database_unavailable',
      exit: 69,
    });
  });

  it('a 400 naming another region than the one asked is a wrong region; naming it, not', () => {
    // S3's answer to a HEAD: no body, the bucket's region in a header.
    const answer = (region: string) =>
      Object.defineProperty(
        Object.assign(new Error('UnknownError'), { $metadata: { httpStatusCode: 400 } }),
        '$response',
        { value: { statusCode: 400, headers: { 'x-amz-bucket-region': region } } },
      );
    const given = { noahS3Region: 'us-east-2' };
    expect(
      classifyImportFailure(new ImportStoreError('noah_bucket', answer('eu-west-3')), given),
    ).toMatchObject({
      code: 'noah_bucket_wrong_region',
      exit: 78,
      message: "Noah's bucket is in another region: S3 says the bucket is in eu-west-3",
    });
    expect(
      classifyImportFailure(new ImportStoreError('noah_bucket', answer('us-east-2')), given).code,
    ).toBe('import_failed');
  });

  it("docs/OPERATIONS.md's table lists every class with its exit code, and no other", () => {
    const docs = readFileSync(resolve(import.meta.dirname, '../../../docs/OPERATIONS.md'), 'utf8');
    const start = docs.indexOf('## Moving users from a Noah server');
    const section = docs.slice(start, docs.indexOf('\n## ', start + 1));
    const rows = [...section.matchAll(/^\| `([a-z_]+)` \| (\d+) \|/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    expect(Object.fromEntries(rows)).toEqual(IMPORT_FAILURE_EXITS);
  });
});
