/**
 * Applies the bucket set-up of docs/OPERATIONS.md "The bucket" (documents in
 * s3-setup-documents.ts) idempotently: each item is read first and written only when
 * the bucket does not already have it, so a second run changes nothing and says so.
 * What the bucket has besides ours is kept: policy statements with other `Sid`s, CORS
 * and lifecycle rules with other `ID`s (each of these is one document per bucket, and a
 * plain PUT would drop them). A service that does not speak a call (501
 * `NotImplemented` or 405 `MethodNotAllowed`: R2 without policies, test servers) gets
 * that item reported `unsupported`, and the others still applied.
 * @module
 */
import {
  GetBucketCorsCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetPublicAccessBlockCommand,
  PutBucketCorsCommand,
  type PutBucketCorsCommandInput,
  PutBucketEncryptionCommand,
  type PutBucketEncryptionCommandInput,
  PutBucketLifecycleConfigurationCommand,
  type PutBucketLifecycleConfigurationCommandInput,
  PutBucketPolicyCommand,
  type PutBucketPolicyCommandInput,
  PutPublicAccessBlockCommand,
  type PutPublicAccessBlockCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { s3Options } from './index.ts';
import type { BucketSetup, PolicyStatement } from './s3-setup-documents.ts';

/** The items, in the order they are applied. */
export const SETUP_ITEMS = [
  'public access block',
  'bucket policy',
  'CORS',
  'lifecycle',
  'default encryption',
] as const;

/** What became of one item. */
export interface SetupItemResult {
  item: (typeof SETUP_ITEMS)[number];
  status: 'applied' | 'unchanged' | 'unsupported' | 'failed';
  /** The S3 error code of a failure or refusal. */
  code?: string;
}

/** The five PUT requests of a set-up, as the SDK takes them (for `--print`). */
export interface SetupRequests {
  PutPublicAccessBlock: PutPublicAccessBlockCommandInput;
  PutBucketPolicy: PutBucketPolicyCommandInput;
  PutBucketCors: PutBucketCorsCommandInput;
  PutBucketLifecycleConfiguration: PutBucketLifecycleConfigurationCommandInput;
  PutBucketEncryption: PutBucketEncryptionCommandInput;
}

const POLICY_VERSION = '2012-10-17';

/**
 * An S3 client for the bucket of an `s3://` blob store URL, with its credentials when
 * the URL carries them, else the AWS SDK's chain (run the set-up with credentials that
 * may change the bucket's configuration, not the server's).
 *
 * @param url - BLOB_STORE_URL
 * @param defaultRegion - the region when the URL names none (the configuration's
 *   `s3DefaultRegion`; default us-east-1)
 * @returns the client and what the URL names
 * @throws TypeError for a malformed URL (credentials redacted)
 */
export function setupClient(
  url: string,
  defaultRegion?: string,
): {
  client: S3Client;
  bucket: string;
  prefix: string;
  sse: 'AES256' | null;
} {
  const o = s3Options(url, defaultRegion === undefined ? {} : { defaultRegion });
  const client = new S3Client({
    region: o.region,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    forcePathStyle: o.forcePathStyle,
    ...(o.credentials ? { credentials: o.credentials } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
  return { client, bucket: o.bucket, prefix: o.prefix, sse: o.sse ?? null };
}

/**
 * The set-up as the PUT requests of a bucket that has nothing yet.
 *
 * @param setup - the documents
 * @returns the command inputs
 */
export function setupRequests(setup: BucketSetup): SetupRequests {
  const Bucket = setup.bucket;
  return {
    PutPublicAccessBlock: { Bucket, PublicAccessBlockConfiguration: setup.publicAccessBlock },
    PutBucketPolicy: {
      Bucket,
      Policy: JSON.stringify({ Version: POLICY_VERSION, Statement: setup.policyStatements }),
    },
    PutBucketCors: { Bucket, CORSConfiguration: { CORSRules: setup.corsRules } },
    PutBucketLifecycleConfiguration: {
      Bucket,
      LifecycleConfiguration: { Rules: setup.lifecycleRules },
    },
    PutBucketEncryption: {
      Bucket,
      ServerSideEncryptionConfiguration: { Rules: setup.encryptionRules },
    },
  };
}

/**
 * True when `actual` has everything `desired` has (S3 answers may add fields, reorder
 * lists, or give a one-element list as a scalar and `Principal: "*"` as `{AWS: "*"}`).
 */
export function contains(actual: unknown, desired: unknown): boolean {
  if (desired === undefined) return true;
  if (Array.isArray(desired)) {
    const list = Array.isArray(actual) ? actual : actual === undefined ? [] : [actual];
    return list.length === desired.length && desired.every((d) => list.some((a) => contains(a, d)));
  }
  if (desired !== null && typeof desired === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(desired).every(([k, v]) =>
      contains((actual as Record<string, unknown>)[k], v),
    );
  }
  if (desired === '*' && contains(actual, { AWS: '*' })) return true;
  if (desired === '' && actual === undefined) return true;
  if (Array.isArray(actual) && actual.length === 1) return contains(actual[0], desired);
  return actual !== null && typeof actual !== 'object' && String(actual) === String(desired);
}

/** Our items replace those with the same id; the others stay, ahead of ours. */
function merge<T>(current: readonly T[], ours: readonly T[], id: (x: T) => unknown): T[] {
  const mine = new Set(ours.map(id));
  return [...current.filter((x) => !mine.has(id(x))), ...ours];
}

/** Ours are all there, each with everything we set. */
function present<T>(current: readonly T[], ours: readonly T[], id: (x: T) => unknown): boolean {
  return ours.every((o) => current.some((c) => id(c) === id(o) && contains(c, o)));
}

interface SdkError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

const NOT_CONFIGURED = new Set([
  'NoSuchBucketPolicy',
  'NoSuchCORSConfiguration',
  'NoSuchLifecycleConfiguration',
  'ServerSideEncryptionConfigurationNotFoundError',
  'NoSuchPublicAccessBlockConfiguration',
]);

/** Reads a configuration; null when the bucket has none. */
async function read<T>(get: () => Promise<T>): Promise<T | null> {
  try {
    return await get();
  } catch (err) {
    const e = err as SdkError;
    if (NOT_CONFIGURED.has(e.name ?? e.Code ?? '')) return null;
    throw err;
  }
}

/**
 * Applies the set-up to its bucket.
 *
 * @param client - an S3 client whose credentials may read and write the bucket's configuration
 * @param setup - the documents
 * @returns one result per item, in {@link SETUP_ITEMS} order
 * @example
 * ```ts
 * const results = await applyBucketSetup(client, bucketSetup({ bucket, prefix, publicUrl }));
 * ```
 */
export async function applyBucketSetup(
  client: S3Client,
  setup: BucketSetup,
): Promise<SetupItemResult[]> {
  const Bucket = setup.bucket;
  const steps: Record<(typeof SETUP_ITEMS)[number], () => Promise<boolean>> = {
    'public access block': async () => {
      const got = await read(() => client.send(new GetPublicAccessBlockCommand({ Bucket })));
      if (contains(got?.PublicAccessBlockConfiguration, setup.publicAccessBlock)) return false;
      await client.send(new PutPublicAccessBlockCommand(setupRequests(setup).PutPublicAccessBlock));
      return true;
    },
    'bucket policy': async () => {
      const got = await read(() => client.send(new GetBucketPolicyCommand({ Bucket })));
      const doc = got?.Policy
        ? (JSON.parse(got.Policy) as { Statement?: PolicyStatement | PolicyStatement[] })
        : {};
      const current = doc.Statement === undefined ? [] : [doc.Statement].flat();
      const sid = (s: PolicyStatement) => s.Sid;
      if (present(current, setup.policyStatements, sid)) return false;
      const Policy = JSON.stringify({
        ...doc,
        Version: POLICY_VERSION,
        Statement: merge(current, setup.policyStatements, sid),
      });
      await client.send(new PutBucketPolicyCommand({ Bucket, Policy }));
      return true;
    },
    CORS: async () => {
      const got = await read(() => client.send(new GetBucketCorsCommand({ Bucket })));
      const current = got?.CORSRules ?? [];
      const id = (r: { ID?: string }) => r.ID;
      if (present(current, setup.corsRules, id)) return false;
      const CORSRules = merge(current, setup.corsRules, id);
      await client.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules } }));
      return true;
    },
    lifecycle: async () => {
      const got = await read(() =>
        client.send(new GetBucketLifecycleConfigurationCommand({ Bucket })),
      );
      const current = got?.Rules ?? [];
      const id = (r: { ID?: string }) => r.ID;
      if (present(current, setup.lifecycleRules, id)) return false;
      const Rules = merge(current, setup.lifecycleRules, id);
      await client.send(
        new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }),
      );
      return true;
    },
    'default encryption': async () => {
      const got = await read(() => client.send(new GetBucketEncryptionCommand({ Bucket })));
      const rules = got?.ServerSideEncryptionConfiguration?.Rules ?? [];
      if (contains(rules, setup.encryptionRules)) return false;
      await client.send(new PutBucketEncryptionCommand(setupRequests(setup).PutBucketEncryption));
      return true;
    },
  };
  const results: SetupItemResult[] = [];
  for (const item of SETUP_ITEMS) {
    try {
      results.push({ item, status: (await steps[item]()) ? 'applied' : 'unchanged' });
    } catch (err) {
      const e = err as SdkError;
      const code = e.name ?? e.Code ?? 'error';
      // 501 NotImplemented, or 405 from services that route unknown subresources so.
      const status = e.$metadata?.httpStatusCode;
      const unsupported =
        code === 'NotImplemented' ||
        code === 'MethodNotAllowed' ||
        status === 501 ||
        status === 405;
      results.push({ item, status: unsupported ? 'unsupported' : 'failed', code });
    }
  }
  return results;
}
