/**
 * JSON Schemas of the wire types in `@noah-backup/core/api`. Fastify's ajv validates
 * request bodies with them (`additionalProperties: false`, no type coercion), the
 * response serializer uses them, and the OpenAPI document (`GET /v0/openapi.json`) is
 * generated from the same objects (src/http/openapi.ts).
 * @module
 */
import { MAX_BACKUP_OBJECTS, MAX_UPLOAD_URLS_PER_CALL } from '@noah-backup/core/api';

const backupVersion = { type: 'integer', enum: [1, 2], description: 'Backup slot (1 or 2).' };
const rfc3339 = { type: 'string', format: 'date-time' };
const hex = (min: number, max: number, description: string) => ({
  type: 'string',
  minLength: min,
  maxLength: max,
  pattern: '^[0-9a-fA-F]*$',
  description,
});

/** `{code, message, request_id}`: every error response. */
export const errorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'Stable machine-readable code (docs/API.md "Errors").' },
    message: { type: 'string', description: 'Human-readable message.' },
    request_id: { type: 'string', description: 'Request id, also in the x-request-id header.' },
  },
} as const;

/** GetK1Response. */
export const getK1Response = {
  type: 'object',
  required: ['k1', 'tag'],
  properties: {
    k1: { type: 'string', description: '32 random bytes, hex. Single use.' },
    tag: { type: 'string', enum: ['login'] },
  },
} as const;

/** LoginRequest (LUD-04). `key` is checked in the handler to answer `invalid_key`. */
export const loginBody = {
  type: 'object',
  additionalProperties: false,
  required: ['k1', 'sig', 'key'],
  properties: {
    k1: hex(64, 64, 'The k1 from getk1.'),
    sig: hex(2, 400, 'DER-encoded ECDSA signature over the raw 32 k1 bytes, hex.'),
    key: { type: 'string', maxLength: 200, description: '33-byte compressed secp256k1 key, hex.' },
  },
} as const;

/** LoginResponse. */
export const loginResponse = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_at'],
  properties: {
    access_token: { type: 'string', description: 'Bearer token (secret).' },
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_at: rfc3339,
    expires_in_seconds: {
      type: 'integer',
      description: "Only for a login of Noah's app (NOAH_COMPAT=1): the token's lifetime.",
    },
  },
} as const;

/** `POST /v0/auth/logout` response. */
export const logoutResponse = {
  type: 'object',
  required: ['revoked'],
  properties: { revoked: { type: 'boolean', enum: [true] } },
} as const;

/** A SHA-256 of an object's bytes (docs/API.md "Checksums"). */
const sha256 = {
  type: 'string',
  pattern: '^[0-9a-f]{64}$',
  description: "SHA-256 of the object's bytes, lowercase hex; the upload URL takes no other body.",
} as const;

/** UploadUrlRequest. The size limit is checked in the handler (413 backup_too_large). */
export const uploadUrlBody = {
  type: 'object',
  additionalProperties: false,
  required: ['backup_size'],
  properties: {
    backup_size: {
      type: 'integer',
      minimum: 1,
      description: 'Exact number of bytes that will be PUT.',
    },
    backup_version: backupVersion,
    sha256,
  },
} as const;

/** UploadUrlResponse. */
export const uploadUrlResponse = {
  type: 'object',
  required: ['upload_url', 's3_key', 'backup_version', 'expires_at', 'upload_headers'],
  properties: {
    upload_url: { type: 'string', description: 'Pre-signed PUT URL (secret).' },
    s3_key: { type: 'string', description: 'Opaque object key; pass it to complete_upload.' },
    backup_version: backupVersion,
    expires_at: rfc3339,
    upload_headers: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

/** UploadUrlsRequest. The size limits are checked in the handler (413 backup_too_large). */
export const uploadUrlsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['objects'],
  properties: {
    objects: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_UPLOAD_URLS_PER_CALL,
      description: 'One entry per object to upload.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['size'],
        properties: {
          size: {
            type: 'integer',
            minimum: 1,
            description: 'Exact number of bytes that will be PUT.',
          },
          sha256,
        },
      },
    },
  },
} as const;

/** UploadUrlsResponse: one target per requested object, in order. */
export const uploadUrlsResponse = {
  type: 'object',
  required: ['objects'],
  properties: {
    objects: {
      type: 'array',
      items: {
        type: 'object',
        required: ['s3_key', 'upload_url', 'upload_headers', 'expires_at'],
        properties: {
          s3_key: {
            type: 'string',
            description: 'Opaque object key; reference it in complete_upload.',
          },
          upload_url: { type: 'string', description: 'Pre-signed PUT URL (secret).' },
          upload_headers: { type: 'object', additionalProperties: { type: 'string' } },
          expires_at: rfc3339,
        },
      },
    },
  },
} as const;

/** An object key as the manifest of an incremental backup may name it (docs/FORMAT.md §8.4). */
const objectKey = { type: 'string', minLength: 1, maxLength: 128 };

/** CompleteUploadRequest. */
export const completeUploadBody = {
  type: 'object',
  additionalProperties: false,
  required: ['s3_key', 'backup_version', 'backup_size'],
  properties: {
    s3_key: { type: 'string', minLength: 1, maxLength: 256 },
    backup_version: backupVersion,
    backup_size: { type: 'integer', minimum: 1 },
    sha256,
    objects: {
      type: 'array',
      maxItems: MAX_BACKUP_OBJECTS,
      description:
        'Objects the backup references besides s3_key: uploads from upload_urls, or objects your backups already reference.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['s3_key', 'size'],
        properties: { s3_key: objectKey, size: { type: 'integer', minimum: 1 }, sha256 },
      },
    },
    base: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description:
        'The s3_key of the backup this one builds on; 409 base_changed unless a slot still holds it.',
    },
  },
} as const;

/** CancelUploadRequest. */
export const cancelUploadBody = {
  type: 'object',
  additionalProperties: false,
  required: ['s3_key'],
  properties: { s3_key: { type: 'string', minLength: 1, maxLength: 256 } },
} as const;

/** CancelUploadResponse. */
export const cancelUploadResponse = {
  type: 'object',
  required: ['cancelled'],
  properties: { cancelled: { type: 'boolean', enum: [true] } },
} as const;

/** A client's verification of a backup (docs/API.md "Verification"). */
const verificationProperties = {
  verified_at: { ...rfc3339, description: "The server's time of the report." },
  status: { type: 'string', enum: ['success', 'failure'] },
  error: {
    type: ['string', 'null'],
    description: "The client's error code for a failure; null otherwise.",
  },
} as const;

/** Verification, or null: the slot's last one, void once it holds another backup. */
const verification = {
  type: ['object', 'null'],
  required: ['verified_at', 'status', 'error'],
  properties: verificationProperties,
  description:
    'The last verification a client reported of this backup; null when none (void once the slot holds another backup).',
} as const;

/** SlotVerification, or null: the newest verification of a backup a slot holds. */
const slotVerification = {
  type: ['object', 'null'],
  required: ['backup_version', 'backup_created_at', 'verified_at', 'status', 'error'],
  properties: {
    backup_version: backupVersion,
    backup_created_at: { ...rfc3339, description: 'When the verified backup was completed.' },
    ...verificationProperties,
  },
  description: 'The newest verification of a backup a slot holds now; null when none.',
} as const;

/** BackupInfo (CompleteUploadResponse, ListResponse items). */
export const backupInfo = {
  type: 'object',
  required: [
    'backup_version',
    'created_at',
    'backup_size',
    'total_size',
    'object_count',
    'verification',
  ],
  properties: {
    backup_version: backupVersion,
    created_at: rfc3339,
    backup_size: { type: 'integer', description: 'Bytes of the slot object.' },
    total_size: {
      type: 'integer',
      description: 'Bytes of the slot object and every object the backup references.',
    },
    object_count: {
      type: 'integer',
      description: 'Objects the backup references besides its slot object (0: one object).',
    },
    verification,
  },
} as const;

/** ListResponse: newest first. */
export const listResponse = { type: 'array', items: backupInfo } as const;

/** `list` takes no fields; an empty object or no body. */
export const emptyBody = { type: 'object', additionalProperties: false, properties: {} } as const;

/** DownloadUrlRequest (body optional). */
export const downloadUrlBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    backup_version: {
      type: ['integer', 'null'],
      enum: [1, 2, null],
      description: 'Slot; absent or null = the latest backup.',
    },
  },
} as const;

/** DownloadUrlResponse. */
export const downloadUrlResponse = {
  type: 'object',
  required: ['download_url', 'backup_size', 'backup_version', 'created_at', 'expires_at'],
  properties: {
    download_url: { type: 'string', description: 'Pre-signed GET URL (secret).' },
    backup_size: { type: 'integer' },
    backup_version: backupVersion,
    created_at: rfc3339,
    expires_at: rfc3339,
  },
} as const;

/** DownloadUrlsResponse: the slot object's URL and those of the objects it references. */
export const downloadUrlsResponse = {
  type: 'object',
  required: [...downloadUrlResponse.required, 's3_key', 'objects'],
  properties: {
    ...downloadUrlResponse.properties,
    s3_key: {
      type: 'string',
      description: "The slot object's key: a later complete_upload names it as `base`.",
    },
    objects: {
      type: 'array',
      description: 'In the order complete_upload listed them; empty for a one-object backup.',
      items: {
        type: 'object',
        required: ['s3_key', 'size', 'download_url'],
        properties: {
          s3_key: { type: 'string' },
          size: { type: 'integer' },
          download_url: { type: 'string', description: 'Pre-signed GET URL (secret).' },
        },
      },
    },
  },
} as const;

/** DeleteRequest. */
export const deleteBody = {
  type: 'object',
  additionalProperties: false,
  required: ['backup_version'],
  properties: { backup_version: backupVersion },
} as const;

/** DeleteResponse. */
export const deleteResponse = {
  type: 'object',
  required: ['deleted', 'backup_version'],
  properties: { deleted: { type: 'boolean', enum: [true] }, backup_version: backupVersion },
} as const;

/** SettingsRequest. */
export const settingsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['backup_enabled'],
  properties: { backup_enabled: { type: 'boolean' } },
} as const;

/** SettingsResponse. */
export const settingsResponse = {
  type: 'object',
  required: [
    'backup_enabled',
    'last_backup_at',
    'max_backup_size',
    'backups_allowed',
    'backups_not_allowed_reason',
    'last_verification',
  ],
  properties: {
    backup_enabled: { type: 'boolean' },
    backups_allowed: {
      type: 'boolean',
      description: 'Whether the server takes new backups of this user now (ROLLOUT).',
    },
    backups_not_allowed_reason: {
      type: ['string', 'null'],
      enum: ['rollout_paused', 'rollout_pending', null],
      description:
        'Why not: the operator paused new backups, or this user is not yet in the rollout.',
    },
    last_backup_at: { type: ['string', 'null'], format: 'date-time' },
    max_backup_size: {
      type: 'integer',
      description: 'MAX_BACKUP_SIZE: the largest backup_size upload_url accepts, in bytes.',
    },
    last_verification: slotVerification,
  },
} as const;

/** ReportRequest. */
export const reportBody = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'status'],
  properties: {
    notification_id: { type: 'string', minLength: 1, maxLength: 128 },
    kind: { type: 'string', enum: ['backup', 'restore', 'verify'] },
    status: { type: 'string', enum: ['success', 'failure'] },
    error: {
      type: 'string',
      maxLength: 500,
      description: 'Short error code (counted by code) or sentence.',
    },
    backup_version: {
      ...backupVersion,
      description: 'verify: the slot verified (with backup_created_at).',
    },
    backup_created_at: {
      ...rfc3339,
      description:
        "verify: the verified backup's created_at, as list gave it; recorded only while the slot holds that backup.",
    },
  },
} as const;

/** `POST /v0/backup/report` response. */
export const reportResponse = {
  type: 'object',
  required: ['received'],
  properties: { received: { type: 'boolean', enum: [true] } },
} as const;

/** `GET /health` and `GET /ready` responses. */
export const statusResponse = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' } },
} as const;

/** `GET /ready`: ready, and whether local disks have room for uploads. */
export const readyResponse = {
  type: 'object',
  required: ['status', 'uploads'],
  properties: {
    status: { type: 'string' },
    uploads: { type: 'boolean' },
    reason: { type: 'string' },
  },
} as const;

/** Error responses every authenticated route can give, for OpenAPI. */
export function errorResponses(...statuses: number[]): Record<number, typeof errorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, errorSchema]));
}
