/**
 * The bucket set-up's documents and the comparison that makes `admin s3-setup`
 * idempotent on real S3, whose answers differ in form from what was put (fields added,
 * lists reordered, a one-element list as a scalar, `"*"` as `{"AWS": "*"}`, an empty
 * prefix left out). The end-to-end runs are packages/cli/test/admin-s3-setup.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { contains, setupRequests } from '../src/blob/s3-setup.ts';
import { bucketSetup, TRANSITION_MIN_SIZE } from '../src/blob/s3-setup-documents.ts';

describe('contains', () => {
  it('accepts what S3 answers for what was put', () => {
    expect(contains({ Principal: { AWS: '*' } }, { Principal: '*' })).toBe(true);
    expect(contains({ Action: ['s3:*'] }, { Action: 's3:*' })).toBe(true);
    expect(contains({ Methods: ['GET', 'PUT'] }, { Methods: ['PUT', 'GET'] })).toBe(true);
    expect(contains({ Filter: {} }, { Filter: { Prefix: '' } })).toBe(true);
    expect(contains({ Days: '30', Extra: 1 }, { Days: 30 })).toBe(true);
    expect(contains([{ ID: 'a', X: 1 }], [{ ID: 'a' }])).toBe(true);
  });

  it('refuses what differs or is missing', () => {
    expect(contains({ Days: 31 }, { Days: 30 })).toBe(false);
    expect(contains({}, { Days: 30 })).toBe(false);
    expect(contains({ Methods: ['GET'] }, { Methods: ['PUT', 'GET'] })).toBe(false);
    expect(contains({ Methods: ['GET', 'PUT', 'POST'] }, { Methods: ['PUT', 'GET'] })).toBe(false);
    expect(contains(null, { A: 1 })).toBe(false);
    expect(contains({ Principal: { AWS: 'arn:aws:iam::1:root' } }, { Principal: '*' })).toBe(false);
    expect(contains({ Filter: { Prefix: 'x/' } }, { Filter: { Prefix: '' } })).toBe(false);
  });
});

describe('bucketSetup', () => {
  it('scopes object rules to the store prefix and CORS to PUBLIC_URL’s origin', () => {
    const s = bucketSetup({
      bucket: 'noah',
      prefix: 'prod/',
      publicUrl: 'https://backup.example.com:8443/app/',
    });
    expect(s.corsRules[0]!.AllowedOrigins).toEqual(['https://backup.example.com:8443']);
    expect(s.lifecycleRules.map((r) => r.Filter)).toEqual([
      { Prefix: '' },
      { Prefix: 'prod/b/' },
      { And: { Prefix: 'prod/b/', ObjectSizeGreaterThan: TRANSITION_MIN_SIZE } },
    ]);
    const policy = JSON.parse(setupRequests(s).PutBucketPolicy.Policy!);
    expect(policy.Statement[0].Resource).toEqual(['arn:aws:s3:::noah', 'arn:aws:s3:::noah/*']);
  });

  it('refuses a PUBLIC_URL that is not http(s)', () => {
    expect(() => bucketSetup({ bucket: 'noah', prefix: '', publicUrl: 'ftp://x' })).toThrow(
      TypeError,
    );
  });
});
