/**
 * `noah-backup admin s3-setup` as a black box against the S3 test server (s3rver behind
 * the SigV4-checking front, packages/server/test/helpers/s3.ts): on s3rver alone, which
 * speaks CORS (preflights included) but answers 501 to policies, lifecycle rules,
 * default encryption and public access blocks, CORS is applied and the others reported
 * unsupported; with the front keeping those configurations as S3 does (checksummed,
 * well-formed documents), everything is applied once, and a second run changes nothing
 * and says so. The documents on the wire are parsed here (XML, JSON) and checked, and
 * `--print` gives them as the SDK's command inputs.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SetupRequests } from '../../server/src/blob/s3-setup.ts';
import { type S3Harness, startS3Harness } from '../../server/test/helpers/s3.ts';
import { parseS3Xml } from '../../server/test/helpers/s3-bucket-config.ts';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'noah-backup.js');
const ORIGIN = 'https://backup.example.com';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'admin', 's3-setup', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'noah-s3setup-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

const envFor = (s3: S3Harness, url = s3.storeUrl) => ({
  BLOB_STORE_URL: url,
  PUBLIC_URL: `${ORIGIN}/app`,
  DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
});
const sdk = (s3: S3Harness) =>
  new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
const status = (out: string, item: string) =>
  new RegExp(`^  ${item.replace(' ', '\\s')}\\s+(.*)$`, 'm').exec(out)?.[1];

describe('--print', () => {
  let s3: S3Harness;
  beforeAll(async () => {
    s3 = await startS3Harness();
  });
  afterAll(() => s3?.close());

  it('prints the five requests as SDK command inputs, without contacting the bucket', async () => {
    const r = await cli(['--print'], envFor(s3));
    expect(r.code, r.stderr).toBe(0);
    const req = JSON.parse(r.stdout) as SetupRequests;
    expect(Object.keys(req)).toEqual([
      'PutPublicAccessBlock',
      'PutBucketPolicy',
      'PutBucketCors',
      'PutBucketLifecycleConfiguration',
      'PutBucketEncryption',
    ]);
    expect(s3.forwarded).toEqual([]);
    expect(req.PutPublicAccessBlock.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    const policy = JSON.parse(req.PutBucketPolicy.Policy!);
    expect(policy.Version).toBe('2012-10-17');
    const arns = [`arn:aws:s3:::${s3.bucket}`, `arn:aws:s3:::${s3.bucket}/*`];
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Resource: arns,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Null: { 'aws:PrincipalArn': 'true', 'aws:PrincipalServiceName': 'true' } },
      }),
    ]);
    const [cors] = req.PutBucketCors.CORSConfiguration!.CORSRules!;
    expect(cors).toMatchObject({ AllowedOrigins: [ORIGIN], AllowedMethods: ['PUT', 'GET'] });
    expect(cors!.AllowedHeaders).toContain('if-none-match');
    const rules = req.PutBucketLifecycleConfiguration.LifecycleConfiguration!.Rules!;
    expect(rules.map((x) => x.ID)).toEqual([
      'abort-incomplete-multipart',
      'expire-noncurrent-versions',
      'stale-backups-to-infrequent-access',
    ]);
    expect(rules[0]!.AbortIncompleteMultipartUpload).toEqual({ DaysAfterInitiation: 1 });
    expect(rules[2]).toMatchObject({
      Filter: { And: { Prefix: 'b/', ObjectSizeGreaterThan: 131072 } },
      Transitions: [{ Days: 30, StorageClass: 'STANDARD_IA' }],
    });
    // Never an expiration of current objects: a stale user's last backup stays.
    for (const rule of rules) expect(rule.Expiration).toBeUndefined();
    expect(req.PutBucketEncryption.ServerSideEncryptionConfiguration!.Rules).toEqual([
      { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
    ]);
  });

  it('--kms-key-id chooses SSE-KMS with a bucket key; --no-transition drops the move', async () => {
    const r = await cli(['--print', '--kms-key-id', 'alias/noah', '--no-transition'], envFor(s3));
    expect(r.code, r.stderr).toBe(0);
    const req = JSON.parse(r.stdout) as SetupRequests;
    expect(req.PutBucketEncryption.ServerSideEncryptionConfiguration!.Rules).toEqual([
      {
        ApplyServerSideEncryptionByDefault: {
          SSEAlgorithm: 'aws:kms',
          KMSMasterKeyID: 'alias/noah',
        },
        BucketKeyEnabled: true,
      },
    ]);
    const ids = req.PutBucketLifecycleConfiguration.LifecycleConfiguration!.Rules!.map((x) => x.ID);
    expect(ids).not.toContain('stale-backups-to-infrequent-access');
  });

  it('refuses an fs store, and SSE-KMS under a URL that forces SSE-S3', async () => {
    const fs = await cli(['--print'], envFor(s3, `file://${dataDir}/blobs`));
    expect(fs.code).toBe(78);
    expect(fs.stderr).toMatch(/BLOB_STORE_URL is not an s3:\/\/ URL/);
    const kms = await cli(['--kms-key-id', 'alias/x'], envFor(s3, `${s3.storeUrl}&sse=AES256`));
    expect(kms.code).toBe(78);
    expect(kms.stderr).toMatch(/sse=AES256/);
    expect(kms.stderr).not.toContain(s3.credentials.secretAccessKey);
  });
});

describe('on s3rver, which speaks only CORS of these', () => {
  let s3: S3Harness;
  beforeAll(async () => {
    s3 = await startS3Harness();
  });
  afterAll(() => s3?.close());

  it('applies CORS, reports the rest unsupported (exit 1), and the browser preflight passes', async () => {
    const r = await cli([], envFor(s3));
    expect(r.code).toBe(1);
    expect(status(r.stdout, 'CORS')).toBe('applied');
    // s3rver answers 501 NotImplemented to most, 405 MethodNotAllowed to GET ?policy.
    for (const item of ['public access block', 'bucket policy', 'lifecycle', 'default encryption'])
      expect(status(r.stdout, item), item).toMatch(
        /^unsupported by this service \((NotImplemented|MethodNotAllowed)\)$/,
      );
    expect(r.stderr).toMatch(/not applied: public access block, bucket policy, lifecycle/);
    expect(r.stderr).toMatch(/hint: .*--print/);
    const preflight = (origin: string, headers = 'if-none-match,content-type') =>
      fetch(`${s3.rawEndpoint}/${s3.bucket}/b/some-object`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'PUT',
          'access-control-request-headers': headers,
        },
      });
    const ok = await preflight(ORIGIN);
    expect(ok.status).toBe(200);
    // s3rver answers a matched preflight with `*` (S3 echoes the origin).
    expect([ORIGIN, '*']).toContain(ok.headers.get('access-control-allow-origin'));
    expect(ok.headers.get('access-control-allow-methods')).toMatch(/PUT/);
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/if-none-match/);
    expect((await preflight('https://elsewhere.example')).status).toBe(403);
    expect((await preflight(ORIGIN, 'x-not-allowed')).status).toBe(403);
    const again = await cli([], envFor(s3));
    expect(status(again.stdout, 'CORS')).toBe('unchanged');
  });
});

describe('on a bucket that keeps every configuration', () => {
  let s3: S3Harness;
  beforeAll(async () => {
    s3 = await startS3Harness({ bucketConfig: true });
  });
  afterAll(() => s3?.close());

  it('applies everything once, keeping what the bucket had; a second run changes nothing', async () => {
    // The operator's own rule and statement, set before.
    const client = sdk(s3);
    await client.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: s3.bucket,
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'logs',
              Status: 'Enabled',
              Filter: { Prefix: 'logs/' },
              Expiration: { Days: 90 },
            },
          ],
        },
      }),
    );
    await client.send(
      new PutBucketPolicyCommand({
        Bucket: s3.bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'Mine',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:DeleteBucket',
              Resource: `arn:aws:s3:::${s3.bucket}`,
            },
          ],
        }),
      }),
    );
    const puts = s3.bucketConfig!.puts.length;
    const first = await cli([], envFor(s3));
    expect(first.code, first.stderr + first.stdout).toBe(0);
    for (const item of [
      'public access block',
      'bucket policy',
      'CORS',
      'lifecycle',
      'default encryption',
    ])
      expect(status(first.stdout, item), item).toBe('applied');
    expect(first.stdout).toMatch(/5 applied, 0 unchanged, 0 not applied/);

    // What went over the wire, parsed as S3 would.
    const sent = s3.bucketConfig!.puts.slice(puts);
    // biome-ignore lint/suspicious/noExplicitAny: a parsed XML tree, checked field by field.
    const xml = (sub: string): any => parseS3Xml(sent.find((p) => p.subresource === sub)!.body);
    const lifecycle = xml('lifecycle').LifecycleConfiguration;
    expect(lifecycle['@_xmlns']).toBe('http://s3.amazonaws.com/doc/2006-03-01/');
    expect(lifecycle.Rule.map((x: { ID: string }) => x.ID)).toEqual([
      'logs',
      'abort-incomplete-multipart',
      'expire-noncurrent-versions',
      'stale-backups-to-infrequent-access',
    ]);
    expect(lifecycle.Rule[3]).toMatchObject({
      Status: 'Enabled',
      Filter: { And: { Prefix: 'b/', ObjectSizeGreaterThan: 131072 } },
      Transition: [{ Days: 30, StorageClass: 'STANDARD_IA' }],
    });
    expect(lifecycle.Rule[1].AbortIncompleteMultipartUpload).toEqual({ DaysAfterInitiation: 1 });
    expect(
      xml('encryption').ServerSideEncryptionConfiguration.Rule[0]
        .ApplyServerSideEncryptionByDefault,
    ).toEqual({ SSEAlgorithm: 'AES256' });
    expect(xml('publicAccessBlock').PublicAccessBlockConfiguration).toMatchObject({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    const policy = JSON.parse(sent.find((p) => p.subresource === 'policy')!.body);
    expect(policy.Statement.map((x: { Sid: string }) => x.Sid)).toEqual([
      'Mine',
      'NoahBackupDenyInsecureTransport',
      'NoahBackupDenyAnonymous',
    ]);

    // Idempotent: nothing is written the second time, and it says so.
    const before = s3.bucketConfig!.puts.length;
    const forwardedPuts = () => s3.forwarded.filter((f) => f.method === 'PUT').length;
    const corsPuts = forwardedPuts();
    const second = await cli([], envFor(s3));
    expect(second.code, second.stderr).toBe(0);
    for (const item of [
      'public access block',
      'bucket policy',
      'CORS',
      'lifecycle',
      'default encryption',
    ])
      expect(status(second.stdout, item), item).toBe('unchanged');
    expect(second.stdout).toMatch(/nothing changed/);
    expect(s3.bucketConfig!.puts.length).toBe(before);
    expect(forwardedPuts()).toBe(corsPuts);

    // One item drifted (the operator removed our statements): only it is put back.
    await client.send(
      new PutBucketPolicyCommand({
        Bucket: s3.bucket,
        Policy: JSON.stringify({ ...policy, Statement: [policy.Statement[0]] }),
      }),
    );
    const third = await cli([], envFor(s3));
    expect(status(third.stdout, 'bucket policy')).toBe('applied');
    expect(third.stdout).toMatch(/1 applied, 4 unchanged/);
    const back = await client.send(new GetBucketPolicyCommand({ Bucket: s3.bucket }));
    expect(JSON.parse(back.Policy!).Statement).toHaveLength(3);
    const rules = await client.send(
      new GetBucketLifecycleConfigurationCommand({ Bucket: s3.bucket }),
    );
    expect(rules.Rules?.map((x) => x.ID)).toContain('logs');
    client.destroy();
    expect(s3.rejections).toEqual([]);
  });
});
