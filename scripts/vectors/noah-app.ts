/**
 * What Noah's shipped apps do with a backup file, rebuilt from their behaviour
 * (docs/FORMAT.md §4.4, §4.5) for test vectors and tests: the ZIP each platform's native
 * module makes of the wallet directory (iOS: ZIPFoundation `zipItem(shouldKeepParent:
 * true, .deflate)`; Android: `java.util.zip.ZipOutputStream`), the noah-v1 encryption,
 * the exported binary file, and the native restore (decrypt, unzip into a scratch
 * directory, delete `noah-data-<variant>`, move the unzipped one in). Independent of this
 * project's own code on purpose: node:crypto and node:zlib only.
 * @module
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

/** Which native module built the ZIP. */
export type NoahPlatform = 'ios' | 'android';

/** One file of the wallet directory, by its path relative to `noah-data-<variant>`. */
export interface NoahFile {
  path: string;
  data: Uint8Array;
}

/** DOS date and time (APPNOTE 4.4.6) of `when`, in UTC. */
function dosDateTime(when: Date): { date: number; time: number } {
  const y = Math.min(2099, Math.max(1980, when.getUTCFullYear()));
  return {
    date: ((y - 1980) << 9) | ((when.getUTCMonth() + 1) << 5) | when.getUTCDate(),
    time: (when.getUTCHours() << 11) | (when.getUTCMinutes() << 5) | (when.getUTCSeconds() >> 1),
  };
}

interface Entry {
  name: string;
  dir: boolean;
  data: Uint8Array;
}

/**
 * The entries each native module writes for the wallet files. iOS walks the staging
 * directory (`subpathsOfDirectory`) under the kept parent name: a directory entry for
 * `noah-data-<variant>/` and every subdirectory (never for `backup_staging/` itself), then
 * files. Android recurses and writes file entries only (no directories, so empty ones are
 * lost).
 */
function entriesOf(files: NoahFile[], variant: string, platform: NoahPlatform): Entry[] {
  const root = `backup_staging/noah-data-${variant}`;
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const out: Entry[] = [];
  const dirs = new Set<string>();
  const addDir = (rel: string) => {
    if (platform !== 'ios' || dirs.has(rel)) return;
    dirs.add(rel);
    out.push({
      name: `${rel === '' ? root : `${root}/${rel}`}/`,
      dir: true,
      data: new Uint8Array(),
    });
  };
  addDir('');
  for (const f of sorted) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) addDir(parts.slice(0, i).join('/'));
    out.push({ name: `${root}/${f.path}`, dir: false, data: f.data });
  }
  return out;
}

const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/**
 * The ZIP Noah's native module makes of the wallet directory `noah-data-<variant>`
 * (docs/FORMAT.md §4.5). Both deflate every entry (method 8) and mark names as UTF-8
 * (flag bit 11). iOS (ZIPFoundation) rewrites each local header with the real CRC and
 * sizes, records Unix modes (0755 directories, 0644 files) with "made by" Unix 2.1, and
 * gives directories method 8 with no data; Android (ZipOutputStream) leaves CRC and sizes
 * zero in the local header and puts them in a data descriptor after the data (flag bit
 * 3), with "made by" 2.0 (MS-DOS) and no attributes. No files at all (the app had no
 * wallet directory) gives an empty ZIP on both.
 */
export function noahZip(
  files: NoahFile[],
  opts: { variant: string; platform: NoahPlatform; mtime: Date },
): Uint8Array {
  const { date, time } = dosDateTime(opts.mtime);
  const ios = opts.platform === 'ios';
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const entries = files.length === 0 ? [] : entriesOf(files, opts.variant, opts.platform);
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = e.dir ? Buffer.alloc(0) : deflateRawSync(e.data, { level: 6 });
    const crc = e.dir ? 0 : crc32(e.data);
    const size = e.data.length;
    const flags = ios ? 0x0800 : 0x0808;
    const header = Buffer.concat([
      u32(0x04034b50),
      u16(20),
      u16(flags),
      u16(8),
      u16(time),
      u16(date),
      u32(ios ? crc : 0),
      u32(ios ? data.length : 0),
      u32(ios ? size : 0),
      u16(name.length),
      u16(0),
      name,
    ]);
    const descriptor = ios
      ? Buffer.alloc(0)
      : Buffer.concat([u32(0x08074b50), u32(crc), u32(data.length), u32(size)]);
    locals.push(header, data, descriptor);
    const mode = e.dir ? 0o040755 : 0o100644;
    central.push(
      Buffer.concat([
        u32(0x02014b50),
        u16(ios ? 0x0315 : 20),
        u16(20),
        u16(flags),
        u16(8),
        u16(time),
        u16(date),
        u32(crc),
        u32(data.length),
        u32(size),
        u16(name.length),
        u16(0),
        u16(0),
        u16(0),
        u16(0),
        u32(ios ? mode << 16 : 0),
        u32(offset),
        name,
      ]),
    );
    offset += header.length + data.length + descriptor.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.concat([
    u32(0x06054b50),
    u16(0),
    u16(0),
    u16(entries.length),
    u16(entries.length),
    u32(cd.length),
    u32(offset),
    u16(0),
  ]);
  return new Uint8Array(Buffer.concat([...locals, cd, end]));
}

/** Random bytes: the platform CSPRNG in the app; injected here for vectors. */
export type NoahRandom = (n: number) => Uint8Array;

/**
 * Noah's native `encrypt`: PBKDF2-HMAC-SHA256(UTF-8 of the mnemonic as given, a random
 * 16-byte salt, 600,000) and AES-256-GCM under a random 12-byte IV;
 * `0x01 || salt || IV || ciphertext || tag` (docs/FORMAT.md §4).
 */
export function noahEncrypt(
  plaintext: Uint8Array,
  mnemonic: string,
  random: NoahRandom,
): Uint8Array {
  const salt = random(16);
  const iv = random(12);
  const key = pbkdf2Sync(Buffer.from(mnemonic, 'utf8'), salt, 600_000, 32, 'sha256');
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([Uint8Array.of(1), salt, iv, ct, cipher.getAuthTag()]));
}

/** Noah's native `decrypt`: the inverse; throws on a wrong version or a bad tag. */
export function noahDecrypt(blob: Uint8Array, mnemonic: string): Uint8Array {
  if (blob.length < 45) throw new Error('Invalid encrypted data format: too short');
  if (blob[0] !== 1) throw new Error(`Unsupported encryption format version: ${blob[0]}`);
  const key = pbkdf2Sync(
    Buffer.from(mnemonic, 'utf8'),
    blob.subarray(1, 17),
    600_000,
    32,
    'sha256',
  );
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(17, 29));
  decipher.setAuthTag(blob.subarray(blob.length - 16));
  return new Uint8Array(
    Buffer.concat([decipher.update(blob.subarray(29, blob.length - 16)), decipher.final()]),
  );
}

/**
 * Noah's `createBackup(mnemonic)`: the ZIP of the wallet directory, encrypted, returned
 * as base64 text (what the app uploads).
 */
export function noahCreateBackup(
  files: NoahFile[],
  mnemonic: string,
  opts: { variant: string; platform: NoahPlatform; mtime: Date; random: NoahRandom },
): string {
  return Buffer.from(noahEncrypt(noahZip(files, opts), mnemonic, opts.random)).toString('base64');
}

/**
 * The file Noah's Export button saves: `createBackup`'s text written with the encoding
 * "base64", i.e. decoded: the binary blob (docs/FORMAT.md §4.4).
 */
export function noahExport(base64Text: string): Uint8Array {
  return new Uint8Array(Buffer.from(base64Text, 'base64'));
}

/**
 * Strict base64 as the native decoders need it: Swift's `Data(base64Encoded:)` refuses
 * anything outside the alphabet (the app trims the downloaded text first).
 */
function decodeBase64(text: string): Uint8Array {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text))
    throw new Error('Invalid base64 data');
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** Unzips by the central directory, as ZIPFoundation does, refusing paths that escape. */
function unzipInto(zip: Uint8Array, dir: string): void {
  const b = Buffer.from(zip);
  let eocd = b.length - 22;
  while (eocd >= 0 && b.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('unreadable archive');
  const count = b.readUInt16LE(eocd + 10);
  let p = b.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    const method = b.readUInt16LE(p + 10);
    const csize = b.readUInt32LE(p + 20);
    const nameLen = b.readUInt16LE(p + 28);
    const extraLen = b.readUInt16LE(p + 30);
    const commentLen = b.readUInt16LE(p + 32);
    const local = b.readUInt32LE(p + 42);
    const name = b.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    p += 46 + nameLen + extraLen + commentLen;
    const target = resolve(dir, name);
    if (!target.startsWith(resolve(dir) + sep)) throw new Error('entry outside the target');
    if (name.endsWith('/')) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    const start = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    const raw = b.subarray(start, start + csize);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, method === 8 ? inflateRawSync(raw) : raw);
  }
}

/**
 * Noah's native `restoreBackup(encryptedData, mnemonic)` on a device whose documents
 * directory is `documents` and caches directory `cache`: decode the base64 text, decrypt,
 * unzip into `cache/restored_backup`, delete `documents/noah-data-<variant>`, and move
 * `restored_backup/backup_staging/noah-data-<variant>` there if it exists. Nothing else
 * in the ZIP is used; a ZIP without that folder leaves no wallet directory at all.
 *
 * @returns the wallet directory's path, which may not exist afterwards
 */
export function noahRestore(
  text: string,
  mnemonic: string,
  device: { documents: string; cache: string; variant: string },
): string {
  const zip = noahDecrypt(decodeBase64(text.trim()), mnemonic);
  const unzipped = join(device.cache, 'restored_backup');
  rmSync(unzipped, { recursive: true, force: true });
  mkdirSync(unzipped, { recursive: true });
  try {
    unzipInto(zip, unzipped);
    const source = join(unzipped, 'backup_staging', `noah-data-${device.variant}`);
    const dest = join(device.documents, `noah-data-${device.variant}`);
    rmSync(dest, { recursive: true, force: true });
    if (existsSync(source)) renameSync(source, dest);
    return dest;
  } finally {
    rmSync(unzipped, { recursive: true, force: true });
  }
}
