/**
 * A small symmetric RPC over `postMessage`, used between the page and the backup
 * worker: each side exposes named handlers and calls the other's, typed by the other's
 * method table (`protocol.ts`); one-way events; and
 * byte streams that cross the boundary pull by pull (the consumer asks for each chunk,
 * so memory stays bounded). Errors cross as `{name, code, message, status}` and are
 * rebuilt as {@link RemoteError}, a NoahError with the same stable code — messages of
 * our errors never hold secrets (core `errors.ts`), so nothing new leaks.
 * @module
 */
import { toCatalogCode } from '@noah-backup/core/error-catalog';
import { NoahError } from '@noah-backup/core/errors';

/** The two ends: a `Worker` on the page, the worker's global scope inside it. */
export interface MessageEndpoint {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
}

/**
 * An error thrown on the other side, with its stable code and HTTP status if any. A code
 * outside the catalog (not one of our errors) arrives as `unexpected`.
 */
export class RemoteError extends NoahError {
  /** HTTP status of an API error, if the original had one. */
  readonly status: number | undefined;
  constructor(code: string, message: string, name: string, status?: number) {
    super(toCatalogCode(code) ?? 'unexpected', message);
    this.name = name;
    this.status = status;
  }
}

interface WireError {
  name: string;
  code: string;
  message: string;
  status?: number | undefined;
}

type Wire =
  | { k: 'call'; id: number; method: string; args: unknown[] }
  | { k: 'ok'; id: number; value: unknown }
  | { k: 'err'; id: number; error: WireError }
  | { k: 'event'; name: string; payload: unknown };

/** A handler; its result (or error) is sent back to the caller. */
export type Handler = (...args: never[]) => unknown;

/** A method table: what one side serves, by name. */
export type Methods<T> = { [K in keyof T]: Handler };

/** One side of the RPC, calling the other side's methods `Remote`. */
export interface RpcEndpoint<Remote extends Methods<Remote>> {
  /** Calls `method` on the other side. */
  call<K extends keyof Remote & string>(
    method: K,
    ...args: Parameters<Remote[K]>
  ): Promise<Awaited<ReturnType<Remote[K]>>>;
  /** Sends a one-way event. */
  emit(name: string, payload: unknown): void;
  /** Listens to the other side's events. */
  onEvent(listener: (name: string, payload: unknown) => void): void;
  /** Offers a stream to the other side; returns the id it passes to {@link pullStream}. */
  offerStream(source: AsyncIterable<Uint8Array>): number;
  /** Reads a stream the other side offered, chunk by chunk. */
  pullStream(id: number): AsyncIterable<Uint8Array>;
  /** Fails every pending call (e.g. the worker died). */
  failAll(error: Error): void;
}

function toWire(err: unknown): WireError {
  const e = (err ?? {}) as { name?: unknown; code?: unknown; message?: unknown; status?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    code: typeof e.code === 'string' ? e.code : 'unexpected',
    message: typeof e.message === 'string' ? e.message : 'unexpected error',
    status: typeof e.status === 'number' ? e.status : undefined,
  };
}

/** Transfer a chunk's buffer when the chunk is all of it; otherwise send a copy. */
function movable(chunk: Uint8Array): Uint8Array<ArrayBuffer> {
  return chunk.byteOffset === 0 &&
    chunk.byteLength === chunk.buffer.byteLength &&
    chunk.buffer instanceof ArrayBuffer
    ? (chunk as Uint8Array<ArrayBuffer>)
    : (chunk.slice() as Uint8Array<ArrayBuffer>);
}

/** Values sent with their buffers moved (see {@link transfer}). */
const moved = new WeakMap<object, Transferable[]>();

/** The buffers `value` was marked to move with, if any. */
function movedWith(value: unknown): Transferable[] {
  return (typeof value === 'object' && value !== null && moved.get(value)) || [];
}

/**
 * Marks `value` (a call's argument or a handler's result) to be sent with `buffers`
 * moved to the other side instead of copied by structured clone: the sender's views of
 * them are emptied. Only for buffers the sender owns whole and never reads again (a
 * restored wallet staged in the worker: otherwise one more copy of it lives on).
 * @returns `value`
 */
export function transfer<T extends object>(value: T, buffers: readonly ArrayBuffer[]): T {
  moved.set(value, [...buffers]);
  return value;
}

/**
 * Creates one side of the RPC.
 *
 * @param port - the Worker (page side) or the worker's global scope
 * @param handlers - methods the other side may call
 * @returns the endpoint, typed by the other side's methods `Remote`
 * @example
 * ```ts
 * const rpc = createRpc<WorkerMethods>(worker, { 'state.get': (key: string) => localStorage.getItem(key) });
 * await rpc.call('init', { mnemonic, serverUrl });
 * ```
 */
export function createRpc<Remote extends Methods<Remote>>(
  port: MessageEndpoint,
  handlers: Record<string, Handler>,
): RpcEndpoint<Remote> {
  let nextId = 1;
  let nextStream = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const streams = new Map<number, AsyncIterator<Uint8Array>>();
  const listeners: ((name: string, payload: unknown) => void)[] = [];

  const send = (msg: Wire, transfer: Transferable[] = []) => port.postMessage(msg, transfer);

  const builtins: Record<string, Handler> = {
    async '__stream.next'(id: number) {
      const it = streams.get(id);
      if (!it) throw new NoahError('stream_closed', 'the stream is closed');
      let r: IteratorResult<Uint8Array>;
      try {
        r = await it.next();
      } catch (err) {
        streams.delete(id); // a failed stream is over (sticky errors stay with the source)
        throw err;
      }
      if (r.done) streams.delete(id);
      return r.done ? { done: true } : { done: false, value: movable(r.value) };
    },
    async '__stream.return'(id: number) {
      const it = streams.get(id);
      streams.delete(id);
      await it?.return?.();
    },
  };

  port.addEventListener('message', (e: MessageEvent) => {
    const msg = e.data as Wire;
    if (msg.k === 'event') {
      for (const l of listeners) l(msg.name, msg.payload);
      return;
    }
    if (msg.k === 'call') {
      const h = handlers[msg.method] ?? builtins[msg.method];
      Promise.resolve()
        .then(() => {
          if (!h) throw new NoahError('no_such_method', `no handler for ${msg.method}`);
          return (h as (...a: unknown[]) => unknown)(...msg.args);
        })
        .then(
          (value) => {
            // Stream chunks move (their buffers are `movable` copies or whole buffers the
            // producer gave away), as do values marked by `transfer`; every other value is
            // copied by structured clone.
            const chunk = msg.method === '__stream.next' && (value as { value?: Uint8Array }).value;
            send({ k: 'ok', id: msg.id, value }, chunk ? [chunk.buffer] : movedWith(value));
          },
          (err: unknown) => send({ k: 'err', id: msg.id, error: toWire(err) }),
        );
      return;
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.k === 'ok') p.resolve(msg.value);
    else
      p.reject(
        new RemoteError(msg.error.code, msg.error.message, msg.error.name, msg.error.status),
      );
  });

  const call = <T>(method: string, ...args: unknown[]): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      send({ k: 'call', id, method, args }, args.flatMap(movedWith));
    });

  return {
    call: call as RpcEndpoint<Remote>['call'],
    emit: (name, payload) => send({ k: 'event', name, payload }),
    onEvent: (l) => {
      listeners.push(l);
    },
    offerStream(source) {
      const id = nextStream++;
      streams.set(id, source[Symbol.asyncIterator]());
      return id;
    },
    pullStream(id) {
      return {
        [Symbol.asyncIterator]() {
          let finished = false;
          return {
            async next(): Promise<IteratorResult<Uint8Array>> {
              if (finished) return { done: true, value: undefined };
              const r = await call<{ done: boolean; value?: Uint8Array }>('__stream.next', id);
              if (r.done || !r.value) {
                finished = true;
                return { done: true, value: undefined };
              }
              return { done: false, value: r.value };
            },
            async return(): Promise<IteratorResult<Uint8Array>> {
              if (!finished) {
                finished = true;
                await call('__stream.return', id).catch(() => undefined);
              }
              return { done: true, value: undefined };
            },
          };
        },
      };
    },
    failAll(error) {
      for (const p of pending.values()) p.reject(error);
      pending.clear();
    },
  };
}
