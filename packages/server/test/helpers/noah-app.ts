/**
 * Noah's shipped app, rebuilt from its source for the tests (docs/API.md "Noah
 * compatibility"), for the calls of its backup path: `client/src/lib/api.ts` (requests,
 * its token store and renewal 3 h + 60 s before `exp`, one new login and retry on
 * AUTH_REQUIRED / INVALID_TOKEN / TOKEN_EXPIRED, its error envelope), `backupService.ts`
 * (upload_url with `backup_version: 1` only, a PUT with only Content-Type, complete,
 * restore of the latest with a fresh login from the words), `pushNotifications.ts` (the
 * background task's parsing of `data.body`, `backup_trigger`, report_job_status), and the
 * native `NoahToolsBackup` (the data directory zipped with its parent
 * `backup_staging/noah-data-<variant>`, PBKDF2-SHA256 600,000 × the words → AES-256-GCM,
 * `0x01 ‖ salt ‖ iv ‖ ct ‖ tag` in base64; restore replaces the data directory with the
 * zip's). Nothing here comes from this project's client.
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { deriveNoahKey, signNoahMessage } from './noah-keys.ts';

const REFRESH_WINDOW_SEC = 3 * 60 * 60;
const CLOCK_SKEW_SEC = 60;
const RETRY_CODES = ['AUTH_REQUIRED', 'INVALID_TOKEN', 'TOKEN_EXPIRED'];

/** api.ts's ApiError: what the app builds from the envelope. */
export class NoahApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** api.ts `buildApiError`. */
function buildApiError(status: number, body: string): Error {
  if (!body) return new Error(`HTTP ${status}: Empty response body`);
  try {
    const v = JSON.parse(body) as Record<string, unknown>;
    if (
      typeof v.status === 'string' &&
      typeof v.code === 'string' &&
      typeof v.message === 'string' &&
      typeof v.reason === 'string'
    )
      return new NoahApiError(v.message, status, v.code, v.reason);
  } catch {}
  return new Error(`HTTP ${status}: ${body}`);
}

/** crypto.ts `shouldRefreshServerAuthToken`: throws when the token is not a JWT with exp. */
export function shouldRefresh(token: string, nowSec: number): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('JWT must have three segments');
  const { exp } = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as {
    exp?: unknown;
  };
  if (typeof exp !== 'number' || !Number.isFinite(exp))
    throw new Error('JWT payload is missing a valid exp claim');
  return exp - nowSec <= REFRESH_WINDOW_SEC + CLOCK_SKEW_SEC;
}

/** Native encryption (NoahToolsBackup.swift `encrypt`), base64 as `createBackup` returns it. */
export function noahEncrypt(zip: Uint8Array, mnemonic: string): string {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = pbkdf2Sync(Buffer.from(mnemonic, 'utf8'), salt, 600_000, 32, 'sha256');
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(zip), c.final()]);
  return Buffer.concat([Buffer.from([1]), salt, iv, ct, c.getAuthTag()]).toString('base64');
}

/** Native decryption (`decrypt`) of the base64 text. */
export function noahDecrypt(text: string, mnemonic: string): Uint8Array {
  const data = Buffer.from(text, 'base64');
  if (data[0] !== 1) throw new Error('Unsupported backup version');
  const salt = data.subarray(1, 17);
  const iv = data.subarray(17, 29);
  const key = pbkdf2Sync(Buffer.from(mnemonic, 'utf8'), salt, 600_000, 32, 'sha256');
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([d.update(data.subarray(29, data.length - 16)), d.final()]);
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

/**
 * `ky.put` with ky's default retry (ky 1.x): 2 more tries on 408, 413, 429, 500, 502,
 * 503 and 504, after Retry-After where given (413 only then), else 0.3 s × 2^(n−1).
 */
async function kyPut(url: string, body: string): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream' },
      body,
    });
    const after = res.headers.get('retry-after');
    const retryable = [408, 413, 429, 500, 502, 503, 504].includes(res.status);
    if (res.ok || !retryable || attempt > 2 || (res.status === 413 && after === null)) return res;
    await res.arrayBuffer();
    const wait = after !== null ? Number(after) * 1000 : 300 * 2 ** (attempt - 1);
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** What the app's background task gets from expo-notifications for a data message. */
export interface ExpoTaskPayload {
  data?: { body?: unknown; UIApplicationLaunchOptionsRemoteNotificationKey?: { body?: unknown } };
}

/** One install of the app: its MMKV token, its data directory, its server. */
export class NoahApp {
  /** The stored access token (MMKV). */
  token: string | null = null;
  /** Logins made (getk1 + auth/login). */
  logins = 0;
  /** Reports sent by the background task. */
  readonly reports: unknown[] = [];

  constructor(
    readonly apiUrl: string,
    readonly mnemonic: string,
    readonly dataRoot: string,
    readonly variant = 'signet',
    readonly now: () => number = () => Date.now(),
  ) {}

  /** `noah-data-<variant>`, the wallet's directory. */
  get dataDir(): string {
    return join(this.dataRoot, `noah-data-${this.variant}`);
  }

  /** nativePost / nativeGet: status and body text. */
  async http(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const res = await fetch(`${this.apiUrl}/v0${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.text() };
  }

  private async postJson<T>(
    path: string,
    payload: unknown,
    headers: Record<string, string>,
  ): Promise<T> {
    const r = await this.http('POST', path, payload, headers);
    if (r.status < 200 || r.status >= 300) throw buildApiError(r.status, r.body);
    return (r.body === '' ? undefined : JSON.parse(r.body)) as T;
  }

  /** api.ts `authenticateWithMnemonic`. */
  async login(mnemonic = this.mnemonic, persist = true): Promise<string> {
    const k = await this.http('GET', '/getk1');
    if (k.status < 200 || k.status >= 300) throw buildApiError(k.status, k.body);
    const { k1 } = JSON.parse(k.body) as { k1: string };
    const key = deriveNoahKey(mnemonic);
    const res = await this.postJson<{ access_token: string }>(
      '/auth/login',
      { key: key.pub, sig: signNoahMessage(k1, key), k1 },
      {},
    );
    this.logins++;
    if (persist) this.token = res.access_token;
    return res.access_token;
  }

  /** api.ts `getAccessToken`. */
  async accessToken(forceRefresh = false): Promise<string> {
    if (!forceRefresh && this.token) {
      let refresh: boolean;
      try {
        refresh = shouldRefresh(this.token, Math.floor(this.now() / 1000));
      } catch {
        refresh = true;
      }
      if (!refresh) return this.token;
      this.token = null;
    }
    return this.login();
  }

  /** api.ts `post`: bearer, and one new login and retry on an auth code. */
  async post<T>(
    path: string,
    payload: unknown,
    opts: { accessToken?: string; retry?: boolean } = {},
  ): Promise<T> {
    const token = opts.accessToken ?? (await this.accessToken());
    try {
      return await this.postJson<T>(path, payload, { Authorization: `Bearer ${token}` });
    } catch (err) {
      if (
        (opts.retry ?? true) &&
        opts.accessToken === undefined &&
        err instanceof NoahApiError &&
        RETRY_CODES.includes(err.code)
      ) {
        this.token = null;
        const fresh = await this.accessToken(true);
        return this.post<T>(path, payload, { accessToken: fresh, retry: false });
      }
      throw err;
    }
  }

  listBackups() {
    return this.post<{ backup_version: number; created_at: string; backup_size: number }[]>(
      '/backup/list',
      {},
    );
  }
  deleteBackup(backup_version: number) {
    return this.post<{ success: boolean }>('/backup/delete', { backup_version });
  }
  updateBackupSettings(backup_enabled: boolean) {
    return this.post<{ success: boolean }>('/backup/settings', { backup_enabled });
  }
  registerPushToken(push_token: string) {
    return this.post<{ success: boolean }>('/register_push_token', { push_token });
  }
  /** api.ts `deregister`, which the app calls when the wallet is deleted. */
  deregister() {
    return this.post<{ success: boolean }>('/deregister', {});
  }

  /** NoahToolsBackup `createBackup`: zip `backup_staging/noah-data-<variant>`, encrypt. */
  async createBackup(): Promise<string> {
    const files: Record<string, Uint8Array> = {};
    const root = `backup_staging/noah-data-${this.variant}`;
    for (const p of await walk(this.dataDir))
      files[`${root}/${relative(this.dataDir, p).split('\\').join('/')}`] = await readFile(p);
    return noahEncrypt(zipSync(files), this.mnemonic);
  }

  /** backupService.ts `performBackup`. */
  async performBackup(): Promise<void> {
    const encrypted = await this.createBackup();
    const backup_size = encrypted.length;
    const { upload_url, s3_key } = await this.post<{ upload_url: string; s3_key: string }>(
      '/backup/upload_url',
      { backup_version: 1 },
    );
    // ky.put: only Content-Type (fetch adds Content-Length), and ky's default retries.
    const put = await kyPut(upload_url, encrypted);
    // ky's HTTPError names the request, URL included; the app reports that message.
    if (!put.ok)
      throw new Error(
        `Request failed with status code ${put.status} ${put.statusText}: PUT ${upload_url}`,
      );
    await this.post('/backup/complete_upload', { s3_key, backup_version: 1, backup_size });
  }

  /** backupService.ts `restoreBackup` on a new device: login from the words, latest backup. */
  async restoreBackup(mnemonic: string, version?: number): Promise<void> {
    const token = await this.login(mnemonic, false);
    const { download_url } = await this.post<{ download_url: string; backup_size: number }>(
      '/backup/download_url',
      { backup_version: version ?? null },
      { accessToken: token, retry: false },
    );
    const res = await fetch(download_url);
    if (!res.ok) throw new Error(`Request failed with status code ${res.status}: GET`);
    const zip = unzipSync(noahDecrypt((await res.text()).trim(), mnemonic));
    // Native restore: the zip's backup_staging/noah-data-<variant> replaces the directory.
    const prefix = `backup_staging/noah-data-${this.variant}/`;
    await rm(this.dataDir, { recursive: true, force: true });
    await mkdir(this.dataDir, { recursive: true });
    for (const [name, bytes] of Object.entries(zip)) {
      if (!name.startsWith(prefix) || name.endsWith('/')) continue;
      const p = join(this.dataDir, name.slice(prefix.length));
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, bytes);
    }
  }

  /** pushNotifications.ts: the background task for one notification. */
  async onBackgroundNotification(payload: ExpoTaskPayload): Promise<string | null> {
    const raw =
      payload.data?.body ?? payload.data?.UIApplicationLaunchOptionsRemoteNotificationKey?.body;
    const data = (typeof raw === 'string' ? JSON.parse(raw) : raw) as
      | { notification_type?: string; notification_k1?: string }
      | undefined;
    if (!data?.notification_type) return null;
    if (data.notification_type !== 'backup_trigger') return data.notification_type;
    let result: { status: 'success' | 'failure'; error_message: string | null };
    try {
      await this.performBackup();
      result = { status: 'success', error_message: null };
    } catch (err) {
      result = { status: 'failure', error_message: (err as Error).message };
    }
    const report = { report_type: 'backup', ...result, notification_k1: data.notification_k1 };
    this.reports.push(report);
    await this.post('/report_job_status', report);
    return data.notification_type;
  }
}
