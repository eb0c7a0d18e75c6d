/**
 * The error envelope of Noah's routes (docs/API.md "Noah compatibility"):
 * `{status: "ERROR", code, message, reason}` with Noah's upper-case codes, which its app
 * reads to log in again (AUTH_REQUIRED, INVALID_TOKEN, TOKEN_EXPIRED). The HTTP status
 * and message are this server's (src/http/errors.ts); only the envelope and code change.
 * @module
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { toErrorReply } from '../../http/errors.ts';
import { stripQuery } from '../../logging.ts';

/** Noah's code for one of ours; ours upper-cased when Noah has no equivalent. */
function noahCode(code: string, status: number, hasAuthorization: boolean): string {
  switch (code) {
    case 'unauthorized':
      return hasAuthorization ? 'INVALID_TOKEN' : 'AUTH_REQUIRED';
    case 'token_expired':
      return 'TOKEN_EXPIRED';
    case 'invalid_signature':
      return 'INVALID_SIGNATURE';
    case 'not_found':
    case 'backup_not_found':
    case 'upload_not_found':
      return 'NOT_FOUND';
    case 'bad_request':
      return 'INVALID_ARGUMENT';
    default:
      return status >= 500 ? 'SERVER_ERROR' : code.toUpperCase();
  }
}

/**
 * The error handler of the Noah routes' scope.
 *
 * @param err - what was thrown
 * @param request - the request
 * @param reply - the reply
 * @returns the sent reply
 */
export function noahErrorHandler(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const e = toErrorReply(err);
  if (e.status >= 500)
    request.log.error({ err, code: e.code, path: stripQuery(request.url) }, 'request failed');
  else request.log.debug({ code: e.code }, 'request refused');
  reply.headers(e.headers);
  return reply
    .code(e.status)
    .type('application/json; charset=utf-8')
    .send({
      status: 'ERROR',
      code: noahCode(e.code, e.status, request.headers.authorization !== undefined),
      message: e.message,
      reason: e.message,
    });
}
