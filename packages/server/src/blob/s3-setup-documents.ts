/**
 * What `noah-backup admin s3-setup` puts on the bucket (docs/OPERATIONS.md "The
 * bucket"), as the AWS SDK's command inputs, so the shapes are the S3 API's own:
 * - a public-access block (all four switches on);
 * - a bucket policy that denies every request not over TLS and every anonymous one;
 * - CORS for the web app's origin (PUBLIC_URL): the browser PUTs and GETs pre-signed URLs;
 * - lifecycle rules: abort incomplete multipart uploads after a day, expire noncurrent
 *   versions after 7 days, and move objects unchanged for 30 days (a stale user's last
 *   backups: active users replace theirs daily) of at least 128 KiB to STANDARD_IA;
 * - default encryption: SSE-S3, or SSE-KMS with a bucket key when a KMS key is given.
 * Each item is named by an id (policy `Sid`, CORS and lifecycle `ID`) so that a merge
 * with what the bucket already has replaces only ours (s3-setup.ts).
 * @module
 */
import type {
  CORSRule,
  LifecycleRule,
  PublicAccessBlockConfiguration,
  ServerSideEncryptionRule,
} from '@aws-sdk/client-s3';
import { OBJECT_PREFIX } from './keys.ts';

/** A bucket policy statement (IAM policy grammar). */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** The documents for one bucket. */
export interface BucketSetup {
  bucket: string;
  publicAccessBlock: PublicAccessBlockConfiguration;
  policyStatements: PolicyStatement[];
  corsRules: CORSRule[];
  lifecycleRules: LifecycleRule[];
  encryptionRules: ServerSideEncryptionRule[];
}

/** What the setup is made from. */
export interface BucketSetupOptions {
  bucket: string;
  /** The store's key prefix ("" or ending in "/"); objects live under `<prefix>b/` (OBJECT_PREFIX). */
  prefix: string;
  /** PUBLIC_URL: the web app's origin is allowed by CORS. */
  publicUrl: string;
  /** SSE-KMS with this key (ARN, id or alias) instead of SSE-S3. */
  kmsKeyId?: string | null;
  /** Leave out the storage-class transition (services without STANDARD_IA). */
  transition?: boolean;
}

/** Days a backup object stays unchanged before it moves to STANDARD_IA (its minimum). */
export const TRANSITION_DAYS = 30;
/** Objects at most this large stay in STANDARD: STANDARD_IA bills at least 128 KiB each. */
export const TRANSITION_MIN_SIZE = 128 * 1024;
/** Policy `Sid`s, CORS and lifecycle `ID`s this setup owns. */
export const SETUP_IDS = {
  denyInsecure: 'NoahBackupDenyInsecureTransport',
  denyAnonymous: 'NoahBackupDenyAnonymous',
  cors: 'noah-backup-web-app',
  abortMultipart: 'abort-incomplete-multipart',
  noncurrent: 'expire-noncurrent-versions',
  transition: 'stale-backups-to-infrequent-access',
} as const;

/**
 * Builds the documents.
 *
 * @param o - bucket, key prefix, public URL and options
 * @returns the documents, in the SDK's input shapes
 * @throws TypeError when PUBLIC_URL is not an http(s) URL
 * @example
 * ```ts
 * const setup = bucketSetup({ bucket: 'noah-backups', prefix: '', publicUrl: 'https://backup.example.com' });
 * ```
 */
export function bucketSetup(o: BucketSetupOptions): BucketSetup {
  let origin: string;
  try {
    const u = new URL(o.publicUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new TypeError();
    origin = u.origin;
  } catch {
    throw new TypeError('publicUrl: expected an http(s) URL');
  }
  const resources = [`arn:aws:s3:::${o.bucket}`, `arn:aws:s3:::${o.bucket}/*`];
  const objects = `${o.prefix}${OBJECT_PREFIX}`;
  const lifecycleRules: LifecycleRule[] = [
    {
      ID: SETUP_IDS.abortMultipart,
      Status: 'Enabled',
      Filter: { Prefix: '' },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    },
    {
      ID: SETUP_IDS.noncurrent,
      Status: 'Enabled',
      Filter: { Prefix: objects },
      NoncurrentVersionExpiration: { NoncurrentDays: 7 },
    },
  ];
  if (o.transition !== false)
    lifecycleRules.push({
      ID: SETUP_IDS.transition,
      Status: 'Enabled',
      // Lifecycle ages count from an object's creation, and a backup object is never
      // rewritten: one 30 days old belongs to a user who has not backed up for 30 days.
      Filter: { And: { Prefix: objects, ObjectSizeGreaterThan: TRANSITION_MIN_SIZE } },
      Transitions: [{ Days: TRANSITION_DAYS, StorageClass: 'STANDARD_IA' }],
    });
  return {
    bucket: o.bucket,
    publicAccessBlock: {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    },
    policyStatements: [
      {
        Sid: SETUP_IDS.denyInsecure,
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: resources,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        // Every signed request names its principal; a request without one, and not
        // from an AWS service, is anonymous.
        Sid: SETUP_IDS.denyAnonymous,
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: resources,
        Condition: { Null: { 'aws:PrincipalArn': 'true', 'aws:PrincipalServiceName': 'true' } },
      },
    ],
    corsRules: [
      {
        ID: SETUP_IDS.cors,
        AllowedOrigins: [origin],
        AllowedMethods: ['PUT', 'GET'],
        // upload_headers (if-none-match, the SSE header), and a resumed download's range.
        AllowedHeaders: ['content-type', 'if-none-match', 'x-amz-server-side-encryption', 'range'],
        ExposeHeaders: ['ETag', 'Content-Length', 'Content-Range'],
        MaxAgeSeconds: 3600,
      },
    ],
    lifecycleRules,
    encryptionRules: [
      o.kmsKeyId
        ? {
            ApplyServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: o.kmsKeyId,
            },
            // One data key per bucket, not per object: far fewer KMS requests.
            BucketKeyEnabled: true,
          }
        : { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
    ],
  };
}
