/**
 * The one error handler and the not-found handler (docs/API.md "Errors": one
 * error handler): every error, Fastify's own included (404, 405, 413, 415, 400 validation,
 * 429), becomes `{code, message, request_id}` with the catalog's status. Unknown errors
 * are logged with the request id and answered with a generic 500 `internal`; their
 * messages never reach the client.
 * @module
 */
import type { ErrorCode } from '@noah-backup/core/api';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOG, HttpError, isErrorCode, STORAGE_FULL_RETRY_AFTER_SEC } from '../errors.ts';
import { stripQuery } from '../logging.ts';

/** A resolved error response. */
export interface ErrorReply {
  status: number;
  code: ErrorCode;
  message: string;
  headers: Record<string, string>;
}

interface AjvIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/**
 * A human message for a schema validation failure that names the field, e.g.
 * `body.backup_size must be >= 1` or `body must not have the property "foo"`.
 *
 * @param context - `body`, `querystring`…
 * @param issue - the first ajv error
 * @returns the message
 */
export function validationMessage(context: string, issue: AjvIssue | undefined): string {
  if (!issue) return `${context} is invalid`;
  const path = (issue.instancePath ?? '').split('/').filter(Boolean).join('.');
  const where = path ? `${context}.${path}` : context;
  const p = issue.params ?? {};
  if (issue.keyword === 'additionalProperties')
    return `${where} must not have the property ${JSON.stringify(p.additionalProperty)}`;
  if (issue.keyword === 'required')
    return `${where}.${String(p.missingProperty)} is required`.replace(/^\./, '');
  if (issue.keyword === 'enum' && Array.isArray(p.allowedValues))
    return `${where} must be one of ${p.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where} ${issue.message ?? 'is invalid'}`;
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'storage_unavailable',
};

const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'the request body is too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported Content-Type; send application/json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'the body is empty but Content-Type is application/json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'the body is not valid JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length does not match the body',
};

/** Error codes of a store that has run out of space (docs/OPERATIONS.md "A full disk"). */
const FULL_CODES = new Set([
  'ENOSPC', // no space left on the device
  'EDQUOT', // the disk quota is used up
  'SQLITE_FULL', // better-sqlite3 and libSQL: "database or disk is full"
  '53100', // PostgreSQL disk_full
]);

/**
 * True when `err` says storage ran out of space (a full disk, SQLITE_FULL, PostgreSQL's
 * disk_full): a retryable condition of the server, not a fault of the request.
 *
 * @param err - anything thrown
 */
export function isStorageFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && FULL_CODES.has(code);
}

/**
 * Maps any thrown value to the public error response.
 *
 * @param err - what a route, hook, plugin or the framework threw
 * @returns status, code, public message and extra headers
 */
export function toErrorReply(err: unknown): ErrorReply {
  if (err instanceof HttpError)
    return {
      status: err.statusCode,
      code: err.code,
      message: err.message,
      headers: { ...err.headers },
    };
  if (isStorageFull(err) || (err as { code?: unknown } | null)?.code === 'storage_full')
    return {
      status: ERROR_CATALOG.storage_full.status,
      code: 'storage_full',
      message: ERROR_CATALOG.storage_full.message,
      headers: { 'retry-after': String(STORAGE_FULL_RETRY_AFTER_SEC) },
    };
  const e = (err ?? {}) as Partial<FastifyError> & { validationContext?: string };
  if (Array.isArray(e.validation)) {
    const message = validationMessage(e.validationContext ?? 'body', e.validation[0] as AjvIssue);
    return { status: 400, code: 'bad_request', message, headers: {} };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 0;
  // Errors of other modules that carry a catalog code (BlobStoreUnavailableError, the
  // fs store's signed-URL errors): the catalog decides status and message.
  if (isErrorCode(e.code)) {
    const entry = ERROR_CATALOG[e.code];
    return { status: entry.status, code: e.code, message: entry.message, headers: {} };
  }
  if (status >= 400 && status < 500) {
    const code = STATUS_CODES[status] ?? 'bad_request';
    const message =
      (typeof e.code === 'string' && FRAMEWORK_MESSAGES[e.code]) ||
      (e instanceof SyntaxError ? 'the body is not valid JSON' : ERROR_CATALOG[code].message);
    return { status, code, message, headers: {} };
  }
  return { status: 500, code: 'internal', message: ERROR_CATALOG.internal.message, headers: {} };
}

/** Sends an error body. */
export function sendError(
  reply: FastifyReply,
  request: FastifyRequest,
  e: ErrorReply,
): FastifyReply {
  reply.headers(e.headers);
  return reply
    .code(e.status)
    .type('application/json; charset=utf-8')
    .send({ code: e.code, message: e.message, request_id: request.id });
}

/**
 * Installs the error and not-found handlers on the root instance.
 *
 * @param app - the root Fastify instance
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const e = toErrorReply(err);
    if (e.status >= 500)
      request.log.error({ err, code: e.code, path: stripQuery(request.url) }, 'request failed');
    else request.log.debug({ code: e.code }, 'request refused');
    return sendError(reply, request, e);
  });

  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;
  app.setNotFoundHandler((request, reply) => {
    const url = stripQuery(request.url);
    // 405 for a known path with another method (RFC 9110 §15.5.6: send Allow).
    const allowed = methods.filter((m) => app.hasRoute({ method: m, url }));
    if (allowed.length > 0)
      return sendError(reply, request, {
        status: 405,
        code: 'method_not_allowed',
        message: `${request.method} is not allowed here; use ${allowed.join(', ')}`,
        headers: { allow: allowed.join(', ') },
      });
    return sendError(reply, request, {
      status: 404,
      code: 'not_found',
      message: ERROR_CATALOG.not_found.message,
      headers: {},
    });
  });
}
