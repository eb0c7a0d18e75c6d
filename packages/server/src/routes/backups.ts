/**
 * The backup routes: `POST /v0/backup/{upload_url, upload_urls, complete_upload,
 * cancel_upload, list, download_url, download_urls, delete, settings, report}` and
 * `GET /v0/backup/settings` (docs/API.md "Backups", "Incremental backups"). Every route
 * needs `Authorization: Bearer <token>` and is rate limited per user. Routes only
 * translate HTTP to the service (routes → services → stores).
 * @module
 */
import type {
  BackupVersion,
  CancelUploadRequest,
  CompleteUploadRequest,
  DownloadUrlRequest,
  ReportRequest,
  SettingsRequest,
  UploadUrlRequest,
  UploadUrlsRequest,
} from '@noah-backup/core/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearerHook } from '../http/bearer.ts';
import { type FailureLimiter, rateLimitHook, userLimitKey } from '../http/rate-limit.ts';
import * as s from '../http/schemas.ts';
import type { AuthService } from '../services/auth.ts';
import type { BackupService } from '../services/backups.ts';

const bearer = [{ bearer: [] }];
const common = [400, 401, 413, 415, 429];

/**
 * Bodies of the routes that carry object lists (docs/API.md "Limits"): 1,024 sizes, and
 * 4,096 references of at most 128-byte keys.
 */
export const UPLOAD_URLS_BODY_LIMIT = 64 * 1024;
export const COMPLETE_UPLOAD_BODY_LIMIT = 1024 * 1024;

/**
 * Registers the backup routes in their own scope (prefix `/v0/backup`).
 *
 * @param app - the API scope
 * @param deps - services, the per-user limit (requests/minute, 0 = none) and the
 *   invalid-token limiter
 */
export async function backupRoutes(
  app: FastifyInstance,
  deps: {
    auth: AuthService;
    backups: BackupService;
    userPerMinute: number;
    badTokens: FailureLimiter | null;
  },
): Promise<void> {
  const { auth, backups } = deps;

  // Bearer auth, then the per-user limit, on every route of this scope: both before the
  // body is read.
  app.addHook('onRequest', bearerHook(auth, deps.badTokens));
  // `list`, `download_url` and `download_urls` may omit the body entirely: it means `{}`.
  app.addHook('preValidation', async (request) => {
    request.body ??= {};
  });
  const limit = rateLimitHook(app, {
    perMinute: deps.userPerMinute,
    key: (req) => userLimitKey(req.principal?.userId, req.ip),
  });
  if (limit) app.addHook('onRequest', limit);

  const user = (request: FastifyRequest) => request.principal!.userId;

  app.post<{ Body: UploadUrlRequest }>(
    '/upload_url',
    {
      schema: {
        summary: 'Get a pre-signed URL to PUT a new backup',
        description:
          'The server names the object. Without backup_version the slot is decided at completion (an empty slot, else the older completed backup); the answer names the slot it would take now. PUT exactly backup_size bytes with the returned upload_headers, then call complete_upload.',
        tags: ['backup'],
        security: bearer,
        body: s.uploadUrlBody,
        response: { 200: s.uploadUrlResponse, ...s.errorResponses(...common, 403, 503, 507) },
      },
    },
    async (request) => backups.uploadUrl(user(request), request.body),
  );

  app.post<{ Body: UploadUrlsRequest }>(
    '/upload_urls',
    {
      bodyLimit: UPLOAD_URLS_BODY_LIMIT,
      schema: {
        summary: 'Get pre-signed URLs to PUT several objects a backup will reference',
        description:
          'One write-once PUT URL per requested size (at most 1,024), for the objects of an incremental backup; each counts against the pending uploads allowed per user. PUT each, then name them in complete_upload.',
        tags: ['backup'],
        security: bearer,
        body: s.uploadUrlsBody,
        response: { 200: s.uploadUrlsResponse, ...s.errorResponses(...common, 403, 503, 507) },
      },
    },
    async (request) => backups.uploadUrls(user(request), request.body),
  );

  app.post<{ Body: CompleteUploadRequest }>(
    '/complete_upload',
    {
      bodyLimit: COMPLETE_UPLOAD_BODY_LIMIT,
      schema: {
        summary: 'Verify an uploaded object and make it the backup in its slot',
        description:
          'Checks the object exists and has the declared size, and that every object the backup references (objects) is yours, uploaded and of its size; with base, that a slot still holds it (else 409 base_changed). Then switches the slot in one transaction (choosing it there when the upload named none) and deletes the replaced object and the objects no slot references any more. The answer names the slot taken. Idempotent.',
        tags: ['backup'],
        security: bearer,
        body: s.completeUploadBody,
        response: { 200: s.backupInfo, ...s.errorResponses(...common, 404, 409, 503, 507) },
      },
    },
    async (request) => backups.completeUpload(user(request), request.body),
  );

  app.post<{ Body: CancelUploadRequest }>(
    '/cancel_upload',
    {
      schema: {
        summary: 'Give up a pending upload',
        description:
          'The upload no longer counts against the pending uploads allowed per user, its URL stores nothing more, and anything it stored is dropped. 404 upload_not_found when there is no such pending upload of this user (already completed, cancelled or expired): treat it as done.',
        tags: ['backup'],
        security: bearer,
        body: s.cancelUploadBody,
        response: { 200: s.cancelUploadResponse, ...s.errorResponses(...common, 404) },
      },
    },
    async (request) => backups.cancelUpload(user(request), request.body),
  );

  app.post(
    '/list',
    {
      schema: {
        summary: 'List completed backups, newest first',
        tags: ['backup'],
        security: bearer,
        body: s.emptyBody,
        bodyRequired: false,
        response: { 200: s.listResponse, ...s.errorResponses(...common) },
      },
    },
    async (request) => backups.list(user(request)),
  );

  app.post<{ Body: DownloadUrlRequest }>(
    '/download_url',
    {
      schema: {
        summary: 'Get a pre-signed URL to GET a backup (absent/null version = latest)',
        tags: ['backup'],
        security: bearer,
        body: s.downloadUrlBody,
        bodyRequired: false,
        response: { 200: s.downloadUrlResponse, ...s.errorResponses(...common, 404, 503) },
      },
    },
    async (request) => backups.downloadUrl(user(request), request.body),
  );

  app.post<{ Body: DownloadUrlRequest }>(
    '/download_urls',
    {
      schema: {
        summary: 'Get every pre-signed URL a restore needs (absent/null version = latest)',
        description:
          "The slot object's URL, as download_url answers it, and one URL per object the backup references (none for a one-object backup).",
        tags: ['backup'],
        security: bearer,
        body: s.downloadUrlBody,
        bodyRequired: false,
        response: { 200: s.downloadUrlsResponse, ...s.errorResponses(...common, 404, 503) },
      },
    },
    async (request) => backups.downloadUrls(user(request), request.body),
  );

  app.post<{ Body: { backup_version: BackupVersion } }>(
    '/delete',
    {
      schema: {
        summary: 'Delete a backup',
        tags: ['backup'],
        security: bearer,
        body: s.deleteBody,
        response: { 200: s.deleteResponse, ...s.errorResponses(...common, 404) },
      },
    },
    async (request) => backups.remove(user(request), request.body.backup_version),
  );

  app.post<{ Body: SettingsRequest }>(
    '/settings',
    {
      schema: {
        summary: 'Turn the daily backup on or off',
        tags: ['backup'],
        security: bearer,
        body: s.settingsBody,
        response: { 200: s.settingsResponse, ...s.errorResponses(...common) },
      },
    },
    async (request) => backups.setSettings(user(request), request.body.backup_enabled),
  );

  app.get(
    '/settings',
    {
      schema: {
        summary: 'Read the backup settings and the time of the last completed backup',
        tags: ['backup'],
        security: bearer,
        response: { 200: s.settingsResponse, ...s.errorResponses(401, 429) },
      },
    },
    async (request) => backups.getSettings(user(request)),
  );

  app.post<{ Body: ReportRequest }>(
    '/report',
    {
      schema: {
        summary: "Report the outcome of a client's backup or restore",
        tags: ['backup'],
        security: bearer,
        body: s.reportBody,
        response: { 200: s.reportResponse, ...s.errorResponses(...common) },
      },
    },
    async (request) => backups.report(user(request), request.body),
  );
}
