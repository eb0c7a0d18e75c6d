import type { ErrorCode } from '@noah-backup/core/api';
import {
  ERROR_CATALOG as CLIENT_CATALOG,
  errorClass,
  isApiCode,
} from '@noah-backup/core/error-catalog';
import { describe, expect, it } from 'vitest';
import { s3Failure } from '../src/blob/s3.ts';
import {
  apiError,
  ERROR_CATALOG,
  HttpError,
  isErrorCode,
  STORAGE_FULL_RETRY_AFTER_SEC,
} from '../src/errors.ts';
import { isStorageFull, toErrorReply, validationMessage } from '../src/http/errors.ts';
import { BlobStoreFullError, BlobStoreUnavailableError } from '../src/stores/blob.ts';

describe('error catalog', () => {
  it('gives every code a 4xx/5xx status and a message', () => {
    for (const [code, e] of Object.entries(ERROR_CATALOG)) {
      expect(isErrorCode(code)).toBe(true);
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(e.status).toBeLessThan(600);
      expect(e.message.length).toBeGreaterThan(5);
    }
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('nope')).toBe(false);
  });

  it('apiError carries the catalog status and an optional message and headers', () => {
    const e = apiError('rate_limited', 'slow down', { headers: { 'retry-after': '5' } });
    expect(e).toBeInstanceOf(HttpError);
    expect(e.statusCode).toBe(429);
    expect(e.message).toBe('slow down');
    expect(toErrorReply(e)).toEqual({
      status: 429,
      code: 'rate_limited',
      message: 'slow down',
      headers: { 'retry-after': '5' },
    });
    expect(apiError('backup_not_found').message).toBe(ERROR_CATALOG.backup_not_found.message);
  });
});

describe("the clients' error catalog (core error-catalog.ts)", () => {
  it('holds every code the server answers, in a class that fits its status', () => {
    for (const [code, { status }] of Object.entries(ERROR_CATALOG)) {
      expect(isApiCode(code), code).toBe(true);
      const cls = errorClass(code as ErrorCode);
      // A client retries what the server cannot answer now; a 401 is the login's.
      if (status >= 500 || code === 'rate_limited') expect(cls, code).toBe('network');
      if (status === 401) expect(cls, code).toBe('auth');
    }
    const api = Object.keys(CLIENT_CATALOG).filter(isApiCode);
    expect(api.sort()).toEqual(Object.keys(ERROR_CATALOG).sort());
  });
});

describe('toErrorReply', () => {
  const fst = (code: string, statusCode: number, message = 'internal detail') =>
    Object.assign(new Error(message), { code, statusCode });

  it.each<[string, number, ErrorCode]>([
    ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 'payload_too_large'],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'unsupported_media_type'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'bad_request'],
    ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 'bad_request'],
    ['FST_ERR_SOMETHING', 404, 'not_found'],
    ['FST_ERR_SOMETHING', 405, 'method_not_allowed'],
  ])('maps %s (%d) to %s', (code, status, want) => {
    const r = toErrorReply(fst(code, status));
    expect(r.status).toBe(status);
    expect(r.code).toBe(want);
    expect(r.message).not.toContain('internal detail');
  });

  it('turns validation errors into 400 naming the field', () => {
    const err = Object.assign(new Error('x'), {
      statusCode: 400,
      validationContext: 'body',
      validation: [{ instancePath: '/backup_size', keyword: 'minimum', message: 'must be >= 1' }],
    });
    expect(toErrorReply(err)).toMatchObject({
      status: 400,
      code: 'bad_request',
      message: 'body.backup_size must be >= 1',
    });
  });

  it('maps the blob store outage to 503 storage_unavailable without its message', () => {
    const r = toErrorReply(new BlobStoreUnavailableError('s3: ECONNREFUSED 10.0.0.7'));
    expect(r).toMatchObject({ status: 503, code: 'storage_unavailable' });
    expect(r.message).not.toContain('10.0.0.7');
  });

  it('hides unknown errors behind a generic 500', () => {
    for (const e of [new Error('password=hunter2'), 'boom', null, { statusCode: 500 }]) {
      const r = toErrorReply(e);
      expect(r).toMatchObject({ status: 500, code: 'internal', message: 'internal server error' });
    }
  });
});

describe('validationMessage', () => {
  it.each([
    [
      { keyword: 'required', params: { missingProperty: 'k1' }, instancePath: '' },
      'body.k1 is required',
    ],
    [
      {
        keyword: 'additionalProperties',
        params: { additionalProperty: 'pubkey' },
        instancePath: '',
      },
      'body must not have the property "pubkey"',
    ],
    [
      { keyword: 'enum', params: { allowedValues: [1, 2] }, instancePath: '/backup_version' },
      'body.backup_version must be one of 1, 2',
    ],
    [
      { keyword: 'type', message: 'must be integer', instancePath: '/backup_size' },
      'body.backup_size must be integer',
    ],
  ])('%j → %s', (issue, want) => expect(validationMessage('body', issue)).toBe(want));
});

describe('storage exhaustion', () => {
  it('a full disk, SQLITE_FULL or PostgreSQL disk_full is a retryable 507 storage_full', () => {
    const full = {
      status: 507,
      code: 'storage_full',
      message: ERROR_CATALOG.storage_full.message,
      headers: { 'retry-after': String(STORAGE_FULL_RETRY_AFTER_SEC) },
    };
    for (const code of ['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100'])
      expect(toErrorReply(Object.assign(new Error('/secret/path is full'), { code }))).toEqual(
        full,
      );
    expect(toErrorReply(new BlobStoreFullError('s3 blob store: retire failed'))).toEqual(full);
    expect(isStorageFull(Object.assign(new Error('x'), { code: 'SQLITE_BUSY' }))).toBe(false);
  });

  it('an S3-compatible service answering 507 is full, not down', () => {
    const sdk = (name: string, status: number) =>
      Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    expect(s3Failure('retire', sdk('XMinioStorageFull', 507))).toBeInstanceOf(BlobStoreFullError);
    expect(s3Failure('retire', sdk('InsufficientStorage', 507))).toBeInstanceOf(BlobStoreFullError);
    expect(s3Failure('head', sdk('InternalError', 500))).toBeInstanceOf(BlobStoreUnavailableError);
  });
});
