/**
 * noah-v1 vectors made as Noah's shipped apps make them (docs/FORMAT.md §4.4, §4.5, §7):
 * a wallet directory zipped by each platform's native module, encrypted, as the base64
 * text the app uploads and as the binary file its Export button saves; the empty ZIP of
 * an app without a wallet; a ZIP that is not Noah's layout (read as it is); and the
 * exported file damaged. The app's side is `noah-app.ts`, independent of this project's
 * writer, so the re-encryption check of testdata/vectors.test.ts compares two writers.
 * @module
 */
import { zipSync } from 'fflate';
import { concatBytes, utf8ToBytes } from '../../packages/core/src/bytes.ts';
import {
  CREATED_AT,
  type Expect,
  flipBit,
  MNEMONIC,
  pattern,
  type RestoredFile,
  sha256Hex,
  sha256Stream,
  seededRandom,
  type Vector,
} from './common.ts';
import {
  type NoahFile,
  type NoahPlatform,
  noahCreateBackup,
  noahDecrypt,
  noahEncrypt,
  noahExport,
  noahZip,
} from './noah-app.ts';

/** The first 16 bytes of every SQLite database file. */
const SQLITE_MAGIC = utf8ToBytes('SQLite format 3\0');

/**
 * A wallet directory in miniature: bark's `db.sqlite` and the app's `noah_wallet.sqlite`
 * at the top (SQLite headers over generator bytes: the vectors test the container, not
 * SQLite), and a file in a subfolder, which shows iOS's directory entries.
 */
function walletFiles(): NoahFile[] {
  return [
    { path: 'db.sqlite', data: concatBytes(SQLITE_MAGIC, pattern(1008)) },
    {
      path: 'noah_wallet.sqlite',
      data: concatBytes(SQLITE_MAGIC, sha256Stream('noah_wallet.sqlite', 240)),
    },
    { path: 'logs/noah.log', data: utf8ToBytes('wallet opened\n') },
  ];
}

/** Each file a restore gives, sorted by path (FORMAT.md §7.2 `restored`). */
function restoredOf(files: NoahFile[], prefix = ''): RestoredFile[] {
  return files
    .map((f) => ({ path: prefix + f.path, size: f.data.length, sha256: sha256Hex(f.data) }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

interface AppSpec {
  name: string;
  platform: NoahPlatform;
  variant: string;
  files: NoahFile[];
  binary: boolean;
  note: string;
}

/** A backup made by Noah's `createBackup` (and, if `binary`, saved by its Export). */
function appVector(s: AppSpec): Vector {
  const { random, used } = seededRandom(s.name);
  const text = noahCreateBackup(s.files, MNEMONIC, {
    variant: s.variant,
    platform: s.platform,
    mtime: CREATED_AT,
    random,
  });
  const blob = s.binary ? noahExport(text) : utf8ToBytes(text);
  return {
    name: s.name,
    format: 'noah-v1',
    expect: 'ok',
    mnemonic: MNEMONIC,
    note: s.note,
    plaintext: noahZip(s.files, { variant: s.variant, platform: s.platform, mtime: CREATED_AT }),
    blob,
    writer: { random: used() },
    ...(s.binary ? { binary: true } : {}),
    noahApp: { platform: s.platform, variant: s.variant },
    restored: restoredOf(s.files),
  };
}

/**
 * A noah-v1 backup of a ZIP that is not Noah's layout, zipped by fflate (not by Noah's
 * app): read as it is, every entry under its own name (FORMAT.md §4.5).
 */
function otherZip(name: string, files: NoahFile[], note: string): Vector {
  const plaintext = zipSync(Object.fromEntries(files.map((f) => [f.path, f.data])), {
    level: 6,
    mtime: CREATED_AT,
  });
  const { random, used } = seededRandom(name);
  return {
    name,
    format: 'noah-v1',
    expect: 'ok',
    mnemonic: MNEMONIC,
    note,
    plaintext,
    blob: utf8ToBytes(Buffer.from(noahEncrypt(plaintext, MNEMONIC, random)).toString('base64')),
    writer: { random: used() },
    restored: restoredOf(files),
  };
}

/** Negatives of the exported (binary) file: each breaks one thing. */
function exportNegatives(base: Vector): Vector[] {
  // The base must be what the app's own restore accepts, or the negatives prove nothing.
  noahDecrypt(base.blob, base.mnemonic);
  const make = (suffix: string, expect: Expect, blob: Uint8Array, mutation: string): Vector => ({
    name: `${base.name}-${suffix}`,
    format: 'noah-v1',
    expect,
    mnemonic: base.mnemonic,
    note: mutation,
    plaintext: base.plaintext,
    blob,
    binary: true,
    base: base.name,
    mutation,
    maxReleasedBytes: 0,
  });
  return [
    make(
      'truncated',
      'decryption_failed',
      base.blob.subarray(0, -1),
      'last byte of the exported file removed',
    ),
    make(
      'trailing-newline',
      'decryption_failed',
      concatBytes(base.blob, Uint8Array.of(0x0a)),
      'a line feed appended to the exported file, as a text editor may',
    ),
    make(
      'flip-ciphertext',
      'decryption_failed',
      flipBit(base.blob, 29),
      'flipped bit 0 of the ciphertext of the exported file',
    ),
    make(
      'too-short',
      'not_a_backup',
      base.blob.subarray(0, 44),
      'exported file cut to 44 bytes, shorter than version, salt, IV and tag',
    ),
  ];
}

/**
 * The vectors of Noah's app, positives first.
 * @returns the vectors, named uniquely
 */
export function noahAppVectors(): Vector[] {
  const files = walletFiles();
  const ios = appVector({
    name: 'noah-v1-app-ios',
    platform: 'ios',
    variant: 'mainnet',
    files,
    binary: false,
    note: "uploaded by Noah's iOS app (mainnet): base64 of its ZIPFoundation ZIP",
  });
  const android = appVector({
    name: 'noah-v1-app-android',
    platform: 'android',
    variant: 'signet',
    files,
    binary: false,
    note: "uploaded by Noah's Android app (signet build): base64 of its ZipOutputStream ZIP, data descriptors",
  });
  const iosExport = appVector({
    name: 'noah-v1-app-ios-export',
    platform: 'ios',
    variant: 'mainnet',
    files,
    binary: true,
    note: "saved by the Export button of Noah's iOS app: the binary blob, no base64",
  });
  const androidExport = appVector({
    name: 'noah-v1-app-android-export',
    platform: 'android',
    variant: 'mainnet',
    files,
    binary: true,
    note: "saved by the Export button of Noah's Android app: the binary blob, no base64",
  });
  const empty = appVector({
    name: 'noah-v1-app-empty',
    platform: 'ios',
    variant: 'mainnet',
    files: [],
    binary: false,
    note: "uploaded by Noah's app without a wallet directory: a ZIP with no entries",
  });
  return [
    ios,
    android,
    iosExport,
    androidExport,
    empty,
    otherZip(
      'noah-v1-zip-flat',
      files,
      "a flat ZIP of the wallet's files, as this project wrote before: no Noah root, read as it is",
    ),
    otherZip(
      'noah-v1-zip-extra-entry',
      [
        ...files.map((f) => ({ path: `backup_staging/noah-data-mainnet/${f.path}`, data: f.data })),
        { path: 'notes.txt', data: utf8ToBytes('not part of the wallet\n') },
      ],
      "Noah's root and a top-level notes.txt: not Noah's layout, so every entry keeps its name",
    ),
    ...exportNegatives(iosExport),
  ];
}
