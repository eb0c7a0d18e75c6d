/**
 * `noah-backup admin import-noah` (docs/OPERATIONS.md "Moving users from a Noah
 * server"): makes each Noah user's backups, backup setting and push token here, keyed by
 * the linking key Noah's app logs in with, so the app finds them after its login.
 *
 * - Per user, all or nothing as far as the bucket decides: every backup kept (the newest
 *   two) is checked in Noah's bucket first, and a missing object or one whose size is not
 *   the size Noah recorded leaves the whole user out (reported), not half imported.
 * - Idempotent and resumable: a slot already holding the Noah backup (same size, same
 *   time) is left alone, so a second run changes nothing and a killed run continued
 *   finishes. An object is written under a fresh key with a pending upload recorded
 *   first, so what a killed run left behind is swept like any abandoned upload.
 * - Never overwrites a newer backup made here, and never writes to Noah's database or
 *   bucket.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { PushProvider } from '@noah-backup/core/api';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import { pino } from 'pino';
import { newObjectKey } from '../blob/keys.ts';
import type { ServerConfig } from '../config.ts';
import { createLogger } from '../logging.ts';
import { createMetadataStore } from '../metadata/index.ts';
import { endpointAddressProblem } from '../push/endpoint-address.ts';
import { EXPO_TOKEN_PATTERN, endpointProblem } from '../services/push.ts';
import { CompletionRefusedError, type MetadataStore, type UserRow } from '../stores/metadata.ts';
import { type BlobWriter, openBlobWriter } from './copy.ts';
import { ImportStoreError, on, onEvery } from './errors.ts';
import { PUBKEY_RE, type PlannedBackup, planUser, type UserPlan } from './plan.ts';
import { type NoahS3Options, type NoahSource, openNoahSource } from './source.ts';

/** Problem codes, one line each in the report. */
export type ImportProblemCode =
  | 'invalid_pubkey'
  | 'object_missing'
  | 'wrong_size'
  | 'too_large'
  | 'foreign_object'
  | 'copy_failed'
  | 'push_token_skipped';

export interface ImportProblem {
  problem: ImportProblemCode;
  /** False for a note that did not keep the user out (a push token not taken). */
  userSkipped: boolean;
  line: string;
}

export interface ImportReport {
  dryRun: boolean;
  /** Noah users with a backup, a settings row or a push token. */
  noahUsers: number;
  /** Users this run changed (dry run: would change). */
  imported: number;
  /** Users already here as Noah has them. */
  unchanged: number;
  /** Users left out for a problem. */
  skipped: number;
  backupsCopied: number;
  bytesCopied: number;
  backupsAlreadyHere: number;
  /** Slots where this server already holds a newer backup, kept. */
  backupsNewerHere: number;
  /** Older backups of Noah users beyond the newest two, not imported. */
  olderBackupsLeft: number;
  settingsSet: number;
  devicesAdded: number;
  /** Rows of Noah's `devices` table (device model and OS, which this server does not keep). */
  noahDeviceRows: number;
  problems: ImportProblem[];
}

export interface ImportOptions {
  noahDatabaseUrl: string;
  noahS3: NoahS3Options;
  dryRun?: boolean;
  /** Users imported at once (default 8). */
  concurrency?: number;
  clock?: Clock;
  /** Called with each problem as it is found. */
  onProblem?: (p: ImportProblem) => void;
}

/**
 * The device id imported push tokens get: Noah keeps one token per user, and the
 * NOAH_COMPAT profile registers the app's token under this id, so the app's next
 * registration updates this device instead of adding one.
 */
export const IMPORTED_DEVICE_ID = 'noah-app';

const PAGE = 200;

/** A user's key in reports: enough to find it in Noah's tables, not the whole key. */
const who = (pubkey: string): string =>
  PUBKEY_RE.test(pubkey) ? `${pubkey.slice(0, 12)}…` : JSON.stringify(pubkey.slice(0, 12));
const row = (b: PlannedBackup): string =>
  `backup_metadata id ${b.rowId} (backup_version ${b.version}, ${JSON.stringify(b.s3Key)})`;

type Counts = Omit<ImportReport, 'dryRun' | 'noahUsers' | 'noahDeviceRows' | 'problems'>;

interface Ctx {
  config: ServerConfig;
  source: NoahSource;
  metadata: MetadataStore;
  writer: BlobWriter | null;
  clock: Clock;
  counts: Counts;
  problem(p: ImportProblem): void;
}

/** What the push token becomes here, or why it is not taken. */
async function pushDevice(
  config: ServerConfig,
  token: string,
): Promise<{ provider: PushProvider; address: string } | { problem: string }> {
  if (new RegExp(EXPO_TOKEN_PATTERN).test(token)) return { provider: 'expo', address: token };
  if (/^https?:\/\//i.test(token)) {
    const problem =
      endpointProblem(token, config.push.unifiedPushAllowHttp) ??
      (await endpointAddressProblem(token, config.push.unifiedPushAllowAddresses));
    return problem ? { problem } : { provider: 'unifiedpush', address: token };
  }
  return { problem: 'neither an Expo push token nor a UnifiedPush endpoint' };
}

/** Checks every kept backup in Noah's bucket; the problems that keep the user out. */
async function checkObjects(ctx: Ctx, plan: UserPlan): Promise<ImportProblem[]> {
  const out: ImportProblem[] = [];
  for (const b of plan.backups) {
    const at = `user ${who(plan.pubkey)}: ${row(b)}`;
    // Noah keeps the key its client reports unchecked; its own upload URLs are all under
    // `<pubkey>/`, so anything else is someone else's object.
    if (!b.s3Key.toLowerCase().startsWith(`${plan.pubkey}/`)) {
      out.push({
        problem: 'foreign_object',
        userSkipped: true,
        line: `${at}: an object outside the user's own keys`,
      });
      continue;
    }
    if (b.size > ctx.config.maxBackupSize) {
      out.push({
        problem: 'too_large',
        userSkipped: true,
        line: `${at}: ${b.size} bytes, above MAX_BACKUP_SIZE (${ctx.config.maxBackupSize})`,
      });
      continue;
    }
    const size = await ctx.source.head(b.s3Key);
    if (size === null)
      out.push({
        problem: 'object_missing',
        userSkipped: true,
        line: `${at}: no such object in Noah's bucket`,
      });
    else if (size !== b.size)
      out.push({
        problem: 'wrong_size',
        userSkipped: true,
        line: `${at}: the object has ${size} bytes, Noah recorded ${b.size}`,
      });
  }
  return out;
}

/**
 * Copies one backup into its slot (the user's row exists). `base`: the object the slot
 * held when it was found older, so a backup completed there meanwhile is not replaced.
 */
async function copyBackup(
  ctx: Ctx,
  user: UserRow,
  b: PlannedBackup,
  base: string | undefined,
): Promise<void> {
  const writer = ctx.writer!;
  const now = ctx.clock.now();
  const objectKey = newObjectKey((n) => new Uint8Array(randomBytes(n)));
  // Recorded before the bytes exist: a run killed from here on leaves an abandoned
  // upload the sweeper removes, never an object nothing accounts for.
  await ctx.metadata.createPendingUpload({
    objectKey,
    userId: user.id,
    version: b.slot,
    declaredSize: b.size,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 3600_000),
  });
  const obj = await ctx.source.get(b.s3Key);
  if (!obj) throw new Error(`${row(b)}: the object disappeared from Noah's bucket`);
  const sha256 = await writer.put(objectKey, obj.body, b.size);
  // The slot keeps Noah's time: the app lists it as the backup the user made then.
  let done: Awaited<ReturnType<MetadataStore['completeUpload']>>;
  try {
    done = await ctx.metadata.completeUpload({
      userId: user.id,
      objectKey,
      version: b.slot,
      size: b.size,
      now: b.createdAt,
      sha256,
      ...(base === undefined ? {} : { base }),
    });
  } catch (err) {
    if (!(err instanceof CompletionRefusedError && err.reason === 'base_changed')) throw err;
    // The app changed the slot here while this copy ran: what it made is newer. The
    // copy's key never left this process, so it can go at once.
    await ctx.metadata.cancelPendingUpload(user.id, objectKey);
    await ctx.metadata.enqueueObjectDeletion(objectKey, now, now);
    ctx.counts.backupsNewerHere++;
    return;
  }
  if (!done) throw new Error(`${row(b)}: the upload was swept before it completed`);
  // The replaced backup's object and the objects it referenced that no slot references
  // any more, as a completion through the API drops them.
  const drop = [...done.releasedObjectKeys];
  if (done.replacedObjectKey && done.replacedObjectKey !== objectKey)
    drop.unshift(done.replacedObjectKey);
  if (drop.length > 0) {
    // An older backup made here: its upload URL died UPLOAD_URL_TTL after its completion
    // at the latest, and until then the key must stay taken (docs/OPERATIONS.md "Storage
    // bounds"). The import's own URLs never leave this process.
    const made = (done.replacedCreatedAt ?? now).getTime();
    const dead = new Date(made + ctx.config.uploadUrlTtlSec * 1000);
    for (const key of drop)
      await ctx.metadata.enqueueObjectDeletion(key, now, dead > now ? dead : now);
  }
  ctx.counts.backupsCopied++;
  ctx.counts.bytesCopied += b.size;
}

async function importUser(ctx: Ctx, plan: UserPlan, dryRun: boolean): Promise<void> {
  const { counts, metadata } = ctx;
  counts.olderBackupsLeft += plan.dropped.length;
  if (!PUBKEY_RE.test(plan.pubkey)) {
    counts.skipped++;
    ctx.problem({
      problem: 'invalid_pubkey',
      userSkipped: true,
      line: `user ${who(plan.pubkey)}: not a compressed secp256k1 public key in hex; not imported`,
    });
    return;
  }
  const existing = await metadata.findUserByPubkey(plan.pubkey);
  const slots = existing ? await metadata.listBackups(existing.id) : [];
  const copies: PlannedBackup[] = [];
  let here = 0;
  let newer = 0;
  for (const b of plan.backups) {
    const slot = slots.find((x) => x.version === b.slot);
    if (slot && slot.size === b.size && slot.createdAt.getTime() === b.createdAt.getTime()) here++;
    else if (slot && slot.createdAt.getTime() >= b.createdAt.getTime()) newer++;
    else copies.push(b);
  }
  // Only what is still to be copied is checked: what is here already stays whatever
  // happens to Noah's bucket later.
  const bad = await checkObjects(ctx, { ...plan, backups: copies });
  if (bad.length > 0) {
    counts.skipped++;
    for (const p of bad) ctx.problem({ ...p, line: `${p.line}; user not imported` });
    return;
  }
  counts.backupsAlreadyHere += here;
  counts.backupsNewerHere += newer;
  // The setting and the push token are Noah's only until the user has a backup or a
  // device here: after the switch the app sets both here, and a later run must not put
  // Noah's stale values back. They are written before any backup, so a killed run
  // leaves a user without either and the next run still takes them.
  const fresh =
    !existing || (slots.length === 0 && (await metadata.listDevices(existing.id)).length === 0);
  const setting =
    fresh &&
    plan.backupEnabled !== null &&
    (existing?.backupEnabled ?? false) !== plan.backupEnabled;
  let device: { provider: PushProvider; address: string } | null = null;
  if (plan.pushToken !== null && fresh) {
    const d = await pushDevice(ctx.config, plan.pushToken);
    if ('problem' in d)
      ctx.problem({
        problem: 'push_token_skipped',
        userSkipped: false,
        line: `user ${who(plan.pubkey)}: push token not imported (${d.problem}); the app registers again after login`,
      });
    else device = d;
  }
  if (existing && copies.length === 0 && !setting && !device) {
    counts.unchanged++;
    return;
  }
  if (dryRun) {
    counts.imported++;
    counts.backupsCopied += copies.length;
    for (const b of copies) counts.bytesCopied += b.size;
    if (setting) counts.settingsSet++;
    if (device) counts.devicesAdded++;
    return;
  }
  try {
    const user = existing ?? (await metadata.upsertUser(plan.pubkey, plan.createdAt));
    if (setting && plan.backupEnabled !== null) {
      await metadata.setBackupEnabled(user.id, plan.backupEnabled);
      counts.settingsSet++;
    }
    if (device) {
      await metadata.registerDevice({
        userId: user.id,
        deviceId: IMPORTED_DEVICE_ID,
        ...device,
        now: ctx.clock.now(),
        maxDevices: ctx.config.push.maxDevicesPerUser,
      });
      counts.devicesAdded++;
    }
    for (const b of copies)
      await copyBackup(ctx, user, b, slots.find((x) => x.version === b.slot)?.objectKey);
    counts.imported++;
  } catch (err) {
    // This server's database failing is no one user's problem: the run stops. (An
    // object that cannot be read or written is that user's, as before.)
    if (err instanceof ImportStoreError && err.store === 'database') throw err;
    counts.skipped++;
    ctx.problem({
      problem: 'copy_failed',
      userSkipped: true,
      line: `user ${who(plan.pubkey)}: ${(err as Error).message}; run the import again to finish it`,
    });
  }
}

/**
 * Imports a Noah server's users into the stores of `config`.
 *
 * @param config - this server's configuration (its stores and limits)
 * @param opts - Noah's database and bucket, dry run, concurrency
 * @returns the report; `problems` lists every user left out, one line each
 * @throws {ImportStoreError} when a database or bucket fails as a whole (which one)
 */
export async function importNoah(config: ServerConfig, opts: ImportOptions): Promise<ImportReport> {
  const dryRun = opts.dryRun ?? false;
  const logger = createLogger({
    level: config.logLevel,
    destination: pino.destination({ fd: 2, sync: true }),
  });
  mkdirSync(config.dataDir, { recursive: true });
  const source = openNoahSource(opts.noahDatabaseUrl, opts.noahS3);
  const problems: ImportProblem[] = [];
  const counts: Counts = {
    imported: 0,
    unchanged: 0,
    skipped: 0,
    backupsCopied: 0,
    bytesCopied: 0,
    backupsAlreadyHere: 0,
    backupsNewerHere: 0,
    olderBackupsLeft: 0,
    settingsSet: 0,
    devicesAdded: 0,
  };
  let noahUsers = 0;
  try {
    const noahDeviceRows = await source.countDevices();
    // Every call, lookups included, names this server's database when it fails; a
    // refused completion and an argument error are answers, not the database failing.
    const metadata = onEvery(
      'database',
      await on('database', () => createMetadataStore(config.databaseUrl, { logger })),
      (err) =>
        err instanceof CompletionRefusedError ||
        err instanceof TypeError ||
        err instanceof RangeError,
    );
    try {
      const writer = dryRun ? null : await on('blob_store', () => openBlobWriter(config));
      try {
        const ctx: Ctx = {
          config,
          source,
          metadata,
          writer,
          clock: opts.clock ?? systemClock,
          counts,
          problem(p) {
            problems.push(p);
            opts.onProblem?.(p);
          },
        };
        const limit = Math.max(1, opts.concurrency ?? 8);
        let after: string | null = null;
        for (;;) {
          const page = await source.users(after, PAGE);
          if (page.length === 0) break;
          noahUsers += page.length;
          after = page[page.length - 1]!.pubkey;
          let next = 0;
          const worker = async () => {
            while (next < page.length) await importUser(ctx, planUser(page[next++]!), dryRun);
          };
          await Promise.all(Array.from({ length: Math.min(limit, page.length) }, worker));
        }
        return { dryRun, noahUsers, ...counts, noahDeviceRows, problems };
      } finally {
        await writer?.close();
      }
    } finally {
      await metadata.close();
    }
  } finally {
    await source.close();
  }
}
