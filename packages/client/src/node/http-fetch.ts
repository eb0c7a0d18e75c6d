/**
 * The SDK's {@link FetchFn} over `node:http` / `node:https`, for Node: the global
 * `fetch` of Node 20 loads undici (llhttp wasm, web streams) on its first call, about
 * 40 MiB of RSS for every CLI command, and hands downloads over through web streams.
 * This transport takes exactly what the SDK sends (a method, plain headers, a string,
 * bytes, a `Blob` or a web `ReadableStream` body written with backpressure, an
 * `AbortSignal`) and answers with what the SDK reads ({@link FetchResponse}).
 *
 * Like `fetch` with `redirect: 'error'` it never follows a redirect (a 3xx is an
 * answer). Connections are kept alive by Node's default agents, whose idle sockets
 * are unreferenced: they never keep the process running. Errors carry the system
 * error code (`ECONNREFUSED`…) and never a URL: pre-signed URLs are credentials.
 * @module
 */
import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { FetchBody, FetchChunk, FetchFn, FetchInit, FetchResponse } from '../http.ts';
import { systemErrorCode } from '../errors.ts';
import { drained } from './fs-util.ts';

/** What `fetch` rejects with on an abort (the SDK maps it to `AbortedError`). */
function abortError(): Error {
  return new DOMException('This operation was aborted', 'AbortError');
}

/**
 * A network failure as `fetch` reports one (a `TypeError`) with only the system error
 * code of the cause: Node's messages name hosts and ports.
 */
function networkError(cause: unknown): Error {
  if (cause instanceof Error && cause.name === 'AbortError') return cause;
  const code = systemErrorCode(cause);
  const err = new TypeError(`request failed${code ? ` (${code})` : ''}`);
  if (code) Object.assign(err, { code });
  return err;
}

/**
 * Sends one HTTP(S) request with `node:http`/`node:https`; a drop-in {@link FetchFn}
 * for the SDK in Node (not a general `fetch`: see the module notes for what it takes).
 *
 * @param input - an `http:` or `https:` URL (never repeated in an error)
 * @param init - method, plain headers, body, signal
 * @returns the response once its status and headers arrived; read its body once
 * @throws `TypeError` with the system error `code` when no answer came; a
 *   `DOMException` named `AbortError` on an abort (the body then errors the same way)
 * @example
 * ```ts
 * import { nodeFetch } from '@noah-backup/client/node/http-fetch';
 * const api = createApiClient({ baseUrl, signer: keys.signer, fetch: nodeFetch });
 * ```
 */
export const nodeFetch: FetchFn = (input, init = {}) =>
  new Promise<FetchResponse>((resolve, reject) => {
    // Not `new URL()` alone: its error keeps the URL it refused (`input`).
    const url = URL.canParse(input) ? new URL(input) : null;
    if (!url) throw new TypeError('invalid URL');
    const send =
      url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : null;
    if (!send) throw new TypeError(`unsupported URL scheme ${url.protocol}`);
    const { signal } = init;
    if (signal?.aborted) throw abortError();
    let res: IncomingMessage | undefined;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    };
    const onAbort = () => {
      const err = abortError();
      req.destroy(err);
      res?.destroy(err);
      fail(err);
    };
    const headers: Record<string, string> = { ...init.headers };
    const fixed = fixedBody(init.body);
    // Like fetch, a body whose length is known goes with it (a stream goes chunked).
    const length = fixed?.byteLength ?? (init.body instanceof Blob ? init.body.size : undefined);
    if (length !== undefined && !Object.keys(headers).some((k) => /^content-length$/i.test(k)))
      headers['content-length'] = String(length);
    let req: ClientRequest;
    try {
      req = send(url, { method: init.method ?? 'GET', headers });
    } catch (err) {
      // Node's message would quote the offending header value (a token?): only the code.
      throw networkError(err);
    }
    // Errors after the answer (an upload cut short by an early answer) stay quiet here.
    req.on('error', (err) => fail(networkError(err)));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('response', (incoming) => {
      res = incoming;
      settled = true;
      // The abort listener stays until the body ends, so an abort still stops a download.
      const detach = () => signal?.removeEventListener('abort', onAbort);
      incoming.once('close', detach).once('end', () => {
        detach();
        // An answer that came before the whole body went out (a 403 to an expired URL):
        // the server wants no more of it, so the upload stops here.
        if (!req.writableEnded) req.destroy();
      });
      resolve(responseOf(incoming));
    });
    const stream = streamOf(init.body);
    if (fixed) req.end(fixed);
    else if (!stream) req.end();
    else
      writeStream(req, stream).catch((err: unknown) => {
        const e = err instanceof Error ? err : new Error('the request body failed');
        req.destroy(e);
        fail(e);
      });
  });

/** A body sent in one write (with its length), or null for a stream. */
function fixedBody(body: FetchInit['body']): Uint8Array | null {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return body;
  return null;
}

/** A body streamed in chunks, or null for none or a {@link fixedBody}. */
function streamOf(body: FetchInit['body']): ReadableStream<Uint8Array> | null {
  // Strings and bytes first: the `ReadableStream` global loads Node's web streams.
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) return null;
  return body instanceof Blob ? body.stream() : body;
}

/**
 * Writes a stream body with backpressure, then ends the request. A source error or a
 * request destroyed meanwhile (abort, reset) stops it and cancels the source.
 */
async function writeStream(req: ClientRequest, body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (req.destroyed) return;
      if (r.done) break;
      if (!req.write(r.value)) await drained(req);
    }
    req.end();
  } finally {
    if (req.destroyed || !req.writableEnded) await reader.cancel().catch(() => {});
  }
}

/** The response the SDK reads, over Node's message; its body is read once. */
function responseOf(res: IncomingMessage): FetchResponse {
  let used = false;
  const take = (): AsyncIterator<Uint8Array> => {
    if (used) throw new TypeError('the response body was already read');
    used = true;
    return res[Symbol.asyncIterator]();
  };
  const readAll = async (): Promise<Uint8Array> => {
    const it = take();
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const r = await next(it);
      if (r.done || !r.value) break;
      parts.push(r.value);
      total += r.value.byteLength;
    }
    // A copy into a buffer of its own: Node's small buffers share a pool.
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  };
  const body: FetchBody = {
    getReader() {
      const it = take();
      return {
        read: () => next(it),
        async cancel() {
          // Destroying a message not read to its end closes its connection; a message
          // read to its end has already given its connection back to the agent.
          res.destroy();
          await it.return?.().catch(() => {});
        },
      };
    },
  };
  const status = res.statusCode ?? 0;
  return {
    ok: status >= 200 && status <= 299,
    status,
    headers: {
      get(name) {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    },
    body,
    text: async () => new TextDecoder().decode(await readAll()),
    arrayBuffer: async () => (await readAll()).buffer as ArrayBuffer,
  };
}

/** One chunk from Node's message, its errors reported as `fetch` reports them. */
async function next(it: AsyncIterator<Uint8Array>): Promise<FetchChunk> {
  try {
    const r = await it.next();
    return { done: r.done === true, value: r.value };
  } catch (err) {
    throw networkError(err);
  }
}
