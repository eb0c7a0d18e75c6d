/**
 * A small HTTP client for the server tests: LNURL-auth login (getk1 → sign → login)
 * with real secp256k1 keys from `@noah-backup/core/lnurl`, and JSON calls that return
 * status, body and headers without throwing.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { LoginResponse } from '@noah-backup/core/api';
import { bytesToHex } from '@noah-backup/core/bytes';
import { deriveLinkingKey, signK1 } from '@noah-backup/core/lnurl';

/** A test user's linking key pair. */
export interface TestKey {
  privateKey: Uint8Array;
  /** 33-byte compressed public key, lowercase hex (LUD-04 `key`). */
  key: string;
}

/** A response as the tests look at it. */
export interface Res<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** A fresh random linking key (LUD-05 derivation from a random seed). */
export function newKey(): TestKey {
  const { privateKey, publicKey } = deriveLinkingKey(randomBytes(32), 'localhost');
  return { privateKey, key: bytesToHex(publicKey) };
}

/**
 * Sends one request. `body` undefined sends none; objects are JSON.
 *
 * @param url - absolute URL
 * @param opts - method (default POST), JSON body, bearer token, extra headers
 */
export async function call<T = unknown>(
  url: string,
  opts: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<Res<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  const res = await fetch(url, { method: opts.method ?? 'POST', headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text !== '')
    parsed = JSON.parse(text);
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** `GET /v0/getk1` → k1. */
export async function getK1(base: string): Promise<string> {
  const r = await call<{ k1: string }>(`${base}/v0/getk1`, { method: 'GET' });
  if (r.status !== 200) throw new Error(`getk1: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.k1;
}

/**
 * Logs in with LNURL-auth: getk1, sign k1 with `key`, POST /v0/auth/login.
 *
 * @returns the access token (throws unless the login answered 200)
 */
export async function login(base: string, key: TestKey = newKey()): Promise<string> {
  const k1 = await getK1(base);
  const r = await call<LoginResponse>(`${base}/v0/auth/login`, {
    body: { k1, sig: signK1(k1, key.privateKey), key: key.key },
  });
  if (r.status !== 200) throw new Error(`login: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.access_token;
}

/** A logged-in user's calls to `/v0/backup/<name>`. */
export function backupApi(base: string, token: string) {
  return <T = unknown>(name: string, body?: unknown, method = 'POST') =>
    call<T>(`${base}/v0/backup/${name}`, { method, body, token });
}

/** PUTs bytes to a pre-signed URL with the given headers; returns status and body text. */
export async function putBytes(
  url: string,
  bytes: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'PUT', body: Buffer.from(bytes), headers });
  return { status: res.status, text: await res.text() };
}

/** GETs a pre-signed URL; returns status and bytes. */
export async function getBytes(url: string): Promise<{ status: number; bytes: Uint8Array }> {
  const res = await fetch(url);
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
}
