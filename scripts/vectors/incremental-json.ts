/**
 * The JSON form of a manifest in the incremental vectors' records (docs/FORMAT.md §7.2):
 * field names as in FORMAT.md §8.4, byte strings as lower-case hex. Shared by the
 * generator and the test that reads the records back.
 * @module
 */
import { bytesToHex, hexToBytes } from '../../packages/core/src/bytes.ts';
import type { Manifest, ManifestEntry } from '../../packages/core/src/incremental/types.ts';

/** A manifest entry as JSON. */
export type EntryJson =
  | { type: 'directory'; path: string }
  | { type: 'file'; path: string; size: number; digest: string; pack: number; offset: number }
  | {
      type: 'database';
      path: string;
      page_size: number;
      page_count: number;
      digest: string;
      runs: { count: number; pack: number; offset: number }[];
    };

/** A manifest as JSON. */
export interface ManifestJson {
  packs: { key: string; size: number; sha256: string; plain_size: number }[];
  entries: EntryJson[];
}

/** A manifest as its record shows it. */
export function manifestToJson(m: Manifest): ManifestJson {
  return {
    packs: m.packs.map((p) => ({
      key: p.key,
      size: p.size,
      sha256: bytesToHex(p.sha256),
      plain_size: p.plainSize,
    })),
    entries: m.entries.map((e): EntryJson => {
      if (e.type === 'directory') return { type: 'directory', path: e.path };
      if (e.type === 'file') {
        const { path, size, pack, offset } = e;
        return { type: 'file', path, size, digest: bytesToHex(e.digest), pack, offset };
      }
      return {
        type: 'database',
        path: e.path,
        page_size: e.pageSize,
        page_count: e.pageCount,
        digest: bytesToHex(e.digest),
        runs: e.runs.map((r) => ({ count: r.count, pack: r.pack, offset: r.offset })),
      };
    }),
  };
}

/** The manifest a record describes. */
export function manifestFromJson(j: ManifestJson): Manifest {
  return {
    packs: j.packs.map((p) => ({
      key: p.key,
      size: p.size,
      sha256: hexToBytes(p.sha256),
      plainSize: p.plain_size,
    })),
    entries: j.entries.map((e): ManifestEntry => {
      if (e.type === 'directory') return { type: 'directory', path: e.path };
      if (e.type === 'file') return { ...e, digest: hexToBytes(e.digest) };
      return {
        type: 'database',
        path: e.path,
        pageSize: e.page_size,
        pageCount: e.page_count,
        digest: hexToBytes(e.digest),
        runs: e.runs.map((r) => ({ ...r })),
      };
    }),
  };
}
