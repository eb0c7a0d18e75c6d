/**
 * Sending an incremental backup's packs while later ones are still being sealed
 * (docs/WALLET.md §5): upload URLs are asked in batches as packs are spooled (2, then 4,
 * 8… up to 64 a call: a 1 GiB first backup makes 8 calls), and each batch's PUTs start at
 * once, at most {@link UPLOAD_CONCURRENCY} at a time. Sealing (one core, with zstd's
 * threads) and uploading (the network, the server) then overlap instead of adding up.
 * @module
 */
import type { UploadTarget } from '@noah-backup/core/api';
import { MAX_UPLOAD_URLS_PER_CALL } from '@noah-backup/core/api';
import { bytesToHex } from '@noah-backup/core/bytes';
import type { SpooledBlob } from '../ports.ts';
import type { PipelineContext } from './context.ts';

/** PUTs in flight at once. */
export const UPLOAD_CONCURRENCY = 4;

/** The largest batch of upload URLs asked while packs are still being sealed. */
const MAX_BATCH = 64;

/** What the server is told about a pack before its upload: size and SHA-256. */
export interface PackToSend {
  size: number;
  sha256: Uint8Array;
}

/** A pack sender (see {@link packSender}). */
export interface PackSender {
  /**
   * Adds a spooled pack. With `eager`, asks the URLs of the packs added so far once a
   * batch is full and starts their PUTs.
   * @throws the first failure of a PUT or of `upload_urls`
   */
  add(blob: SpooledBlob, pack: PackToSend, eager: boolean): Promise<void>;
  /**
   * Asks the URLs of the packs not yet asked and starts their PUTs, without waiting for
   * them: the manifest, which names the packs' keys, can be built and sent meanwhile.
   * Upload progress is reported from here on (the total is known).
   * @returns the upload targets, in the order the packs were added
   * @throws the first failure so far
   */
  targets(): Promise<UploadTarget[]>;
  /**
   * Waits for every PUT (after {@link targets}).
   * @throws the first failure
   */
  finish(): Promise<void>;
  /** Starts no more PUTs and waits for those running to end (before a failure's cleanup). */
  settle(): Promise<void>;
}

/**
 * Starts a sender for one backup attempt.
 * @param pending - every key handed out is pushed here (given back if the backup fails)
 */
export function packSender(ctx: PipelineContext, pending: string[]): PackSender {
  const { api, signal } = ctx;
  const blobs: SpooledBlob[] = [];
  const packs: PackToSend[] = [];
  const targets: UploadTarget[] = [];
  const puts: Promise<void>[] = [];
  const sent: number[] = [];
  let asked = 0;
  let batch = 2;
  let failure: { error: unknown } | undefined;
  let stopped = false;
  let total = 0;
  let uploaded = 0;
  let reporting = false;
  let active = 0;
  const waiting: (() => void)[] = [];

  const put = async (i: number) => {
    while (active >= UPLOAD_CONCURRENCY) await new Promise<void>((ok) => waiting.push(ok));
    active++;
    try {
      if (stopped) return;
      await api.upload(targets[i]!, blobs[i]!, {
        signal,
        onProgress: (bytes) => {
          uploaded += bytes - (sent[i] ?? 0);
          sent[i] = bytes;
          if (reporting) ctx.progress('upload', uploaded, total);
        },
      });
    } catch (error) {
      failure ??= { error };
      stopped = true;
      throw error;
    } finally {
      active--;
      waiting.shift()?.();
    }
  };

  const ask = async (upTo: number) => {
    while (asked < upTo) {
      const n = Math.min(upTo - asked, MAX_UPLOAD_URLS_PER_CALL);
      const objects = packs
        .slice(asked, asked + n)
        .map((p) => ({ size: p.size, sha256: bytesToHex(p.sha256) }));
      const r = await api.uploadUrls({ objects }, { signal });
      targets.push(...r.objects);
      pending.push(...r.objects.map((t) => t.s3_key));
      for (let i = asked; i < asked + n; i++) {
        const p = put(i);
        p.catch(() => {}); // reported through `failure`, add() and finish()
        puts.push(p);
      }
      asked += n;
    }
  };

  return {
    async add(blob, pack, eager) {
      if (failure) throw failure.error;
      blobs.push(blob);
      packs.push(pack);
      total += pack.size;
      if (eager && blobs.length - asked >= batch) {
        await ask(blobs.length);
        batch = Math.min(batch * 2, MAX_BATCH);
      }
    },
    async targets() {
      if (failure) throw failure.error;
      reporting = true;
      ctx.progress('upload', uploaded, total);
      await ask(blobs.length);
      return targets;
    },
    async finish() {
      await Promise.allSettled(puts);
      const failed = failure as { error: unknown } | undefined; // set by the PUTs meanwhile
      if (failed) throw failed.error;
    },
    async settle() {
      stopped = true;
      await Promise.allSettled(puts);
    },
  };
}
