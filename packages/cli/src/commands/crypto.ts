/**
 * The format commands (README.md "Try it from the command line"): `encrypt`, `decrypt`
 * and `inspect` over files or stdin/stdout (`-`). The seedphrase comes from
 * `--mnemonic-file F` or NOAH_MNEMONIC, never from an argument. OUT is written
 * atomically: on any failure or signal no OUT and no temp file is left, the exit code is
 * non-zero, and stderr has one line and a hint. v2 streams in constant memory; the legacy
 * formats hold the whole file by nature.
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { systemClock } from '@noah-backup/core/clock';
import type { NoahVariant } from '@noah-backup/client/archive/noah-write';
import type { BackupFormat, CompressionAlgorithm } from '@noah-backup/core/format';
import { EXIT, fileError, UsageError } from './cli-errors.ts';
import { readMnemonic } from './client-support.ts';
import {
  CRYPTO_EXIT_HELP,
  cleanUpOnSignals,
  counted,
  openInput,
  openOutput,
  type Output,
  parseSize,
  progressBar,
  reportFailure,
} from './crypto-io.ts';
import { describeFile, printInfo } from './crypto-inspect.ts';
import { type NoahPlaintext, openNoahPlaintext } from './crypto-noah.ts';

/** Options of `encrypt`. */
interface EncryptOptions {
  format: BackupFormat;
  compress: boolean;
  compression?: CompressionAlgorithm;
  level?: number;
  kind?: 'raw' | 'tar' | 'zip';
  sequence?: bigint;
  noahVariant?: NoahVariant;
  mnemonicFile?: string;
  force?: boolean;
  verbose?: boolean;
}

/** Options of `decrypt`. */
interface DecryptOptions {
  mnemonicFile?: string;
  maxSize?: number;
  force?: boolean;
  verbose?: boolean;
}

const MEMORY_NOTE = `
Memory: v2 streams in constant memory at any size. seed-v0 and noah-v1 are one
AES-GCM message in base64, so encrypt and decrypt hold the whole file in memory
(about 3-4x its size); decrypt caps their plaintext at 256 MiB unless --max-size.
IN and OUT may be "-" for stdin/stdout; stdout is not atomic: check the exit code.

noah-v1 is for Noah's app, which restores only its own ZIP layout: IN is the wallet
directory (bark's db.sqlite at its top) or a ZIP of it, and OUT holds it as
backup_staging/noah-data-<variant>/ (docs/FORMAT.md §4.5); anything Noah's app would
restore as an empty wallet is refused (noah_wallet_missing).`;

function parseSequence(value: string): bigint {
  if (!/^\d{1,20}$/.test(value) || BigInt(value) >= 2n ** 64n)
    throw new InvalidArgumentError('a sequence is an integer in [0, 2^64)');
  return BigInt(value);
}

function parseLevel(value: string): number {
  if (!/^[1-9]$|^1[0-9]$/.test(value))
    throw new InvalidArgumentError('a level is an integer from 1 to 19 (1 to 9 for deflate)');
  return Number(value);
}

function sizeArg(value: string): number {
  try {
    return parseSize(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** The seedphrase from --mnemonic-file or NOAH_MNEMONIC; a keyring over it. */
async function keyringFor(mnemonicFile: string | undefined) {
  const mnemonic = await readMnemonic({ mnemonicFile });
  const { createKeyring } = await import('@noah-backup/core/keys');
  return createKeyring(mnemonic);
}

/** Streams `chunks` into `out`, then commits; aborts (no OUT, no temp file) on any error. */
async function writeAll(out: Output, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    for await (const chunk of chunks) await out.write(chunk);
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
}

/**
 * Runs a command body; any failure becomes one line, a hint and an exit code. Signal
 * handlers (remove temp files, exit 130/143) are installed only now, for these commands.
 */
async function run(body: () => Promise<void>): Promise<void> {
  cleanUpOnSignals();
  try {
    await body();
  } catch (err) {
    reportFailure(err);
  }
}

/** Prints a summary line on stderr with --verbose, or when stderr is a terminal. */
function summary(verbose: boolean | undefined, line: string): void {
  if (verbose || process.stderr.isTTY) process.stderr.write(`${line}\n`);
}

async function encrypt(inPath: string, outPath: string, o: EncryptOptions): Promise<void> {
  const v2 = o.format === 'v2';
  if (
    !v2 &&
    (o.kind !== undefined ||
      o.sequence !== undefined ||
      o.level !== undefined ||
      o.compression !== undefined)
  )
    throw new UsageError('--kind, --sequence, --compression and --level are for v2 only');
  if (o.format !== 'noah-v1' && o.noahVariant !== undefined)
    throw new UsageError('--noah-variant is for --format noah-v1 only');
  const keyring = await keyringFor(o.mnemonicFile);
  let noah: NoahPlaintext | undefined;
  try {
    if (v2) keyring.v2Key(); // an invalid BIP39 seedphrase fails here, before any output
    // docs/FORMAT.md §4.5: a noah-v1 file holds Noah's layout, or Noah restores nothing.
    if (o.format === 'noah-v1') noah = await openNoahPlaintext(inPath, o.noahVariant ?? 'mainnet');
    const input = noah ? { source: noah.source, size: null } : await openInput(inPath);
    const { encryptBackup, preferredCompression } = await import('@noah-backup/core/format');
    const compression = o.compression ?? (await preferredCompression());
    if (compression === 'deflate' && o.level !== undefined && o.level > 9)
      throw new UsageError('--level for deflate is 1 to 9');
    const bar = await progressBar('encrypt', input.size);
    const out = await openOutput(outPath, Boolean(o.force));
    try {
      const file = encryptBackup(counted(input.source, bar.add), {
        format: o.format,
        keyring,
        createdAt: systemClock.now(),
        ...(v2
          ? {
              sequence: o.sequence ?? 1n,
              payloadKind: o.kind ?? 'raw',
              compression,
              compressionLevel: o.level,
              // One thread: libzstd's workers cost ~15 MiB, and a 1 GiB file must stay
              // under 96 MiB (bench/format-cli.ts); backups use the workers.
              zstdWorkers: 0,
            }
          : {}),
        compress: v2 ? o.compress : false,
      });
      await writeAll(out, file);
    } catch (err) {
      await out.abort();
      throw err;
    } finally {
      bar.stop();
    }
    summary(o.verbose, `encrypted ${inPath} as ${o.format} into ${outPath}`);
  } finally {
    await noah?.cleanup(); // the snapshot's temp files, whatever happened
    keyring.destroy();
  }
}

async function decrypt(inPath: string, outPath: string, o: DecryptOptions): Promise<void> {
  const keyring = await keyringFor(o.mnemonicFile);
  try {
    const input = await openInput(inPath);
    const { openBackup } = await import('@noah-backup/core/format');
    const out = await openOutput(outPath, Boolean(o.force));
    const bar = await progressBar('decrypt', input.size);
    try {
      const opened = await openBackup(counted(input.source, bar.add), {
        keyring,
        ...(o.maxSize === undefined ? {} : { maxPlaintextBytes: o.maxSize }),
      });
      try {
        await writeAll(out, opened.plaintext);
      } finally {
        await opened.plaintext.return(undefined);
      }
      bar.stop(); // before the summary: clearing the bar erases the line it is on
      const h = opened.header;
      summary(
        o.verbose,
        h
          ? `decrypted ${inPath} (v2, created ${h.createdAt.toISOString()}, sequence ${h.sequence}, ${h.payloadKind}) into ${outPath}`
          : `decrypted ${inPath} (${opened.format}) into ${outPath}`,
      );
    } catch (err) {
      await out.abort();
      throw err;
    } finally {
      bar.stop();
    }
  } finally {
    keyring.destroy();
  }
}

/** Adds the usage exit code and the shared help to a command. */
function common(cmd: Command): Command {
  return cmd.addHelpText('after', `${MEMORY_NOTE}\n${CRYPTO_EXIT_HELP}`).exitOverride((err) => {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  });
}

const MNEMONIC_HELP = 'file holding the seedphrase (or set NOAH_MNEMONIC)';

/**
 * Adds `encrypt`, `decrypt` and `inspect` to the program.
 * @param program - the root `noah-backup` command
 * @example
 * ```ts
 * registerCryptoCommands(program);
 * ```
 */
export function registerCryptoCommands(program: Command): void {
  common(program.command('encrypt'))
    .description('Encrypt IN into a backup file OUT (default format v2)')
    .argument('<in>', 'plaintext file, or - for stdin (noah-v1: a wallet directory or its ZIP)')
    .argument('<out>', 'backup file to write, or - for stdout')
    .addOption(
      new Option('--format <format>', 'backup format')
        .choices(['v2', 'noah-v1', 'seed-v0'])
        .default('v2'),
    )
    .option('--no-compress', 'v2: do not compress before encrypting')
    .addOption(
      new Option(
        '--compression <algorithm>',
        'v2: zstd (default where available: Node) or deflate (zlib: what every reader, web included, writes)',
      ).choices(['zstd', 'deflate']),
    )
    .option(
      '--level <n>',
      'v2: compression level: zstd 1 (fastest; default) to 19, deflate 1 to 9 (default 6)',
      parseLevel,
    )
    .addOption(
      new Option('--kind <kind>', 'v2: what the payload is (default raw)').choices([
        'raw',
        'tar',
        'zip',
      ]),
    )
    .option('--sequence <n>', 'v2: the backup counter to record (default 1)', parseSequence)
    .addOption(
      new Option(
        '--noah-variant <variant>',
        "noah-v1: the build of Noah's app that will restore it (default mainnet)",
      ).choices(['mainnet', 'signet', 'regtest']),
    )
    .option('--mnemonic-file <file>', MNEMONIC_HELP)
    .option('-f, --force', 'replace OUT if it exists')
    .option('-v, --verbose', 'print a summary on stderr')
    .action((inPath: string, outPath: string, o: EncryptOptions) =>
      run(() => encrypt(inPath, outPath, o)),
    );

  common(program.command('decrypt'))
    .description('Decrypt a backup file IN of any format (auto-detected) into OUT')
    .argument('<in>', 'backup file, or - for stdin')
    .argument('<out>', 'plaintext file to write, or - for stdout')
    .option('--mnemonic-file <file>', MNEMONIC_HELP)
    .option('--max-size <size>', 'cap on the plaintext after decompression (e.g. 2G)', sizeArg)
    .option('-f, --force', 'replace OUT if it exists')
    .option('-v, --verbose', 'print a summary (format, authenticated header) on stderr')
    .action((inPath: string, outPath: string, o: DecryptOptions) =>
      run(() => decrypt(inPath, outPath, o)),
    );

  common(program.command('inspect'))
    .description('Show the format and header of a backup file; needs no seedphrase')
    .argument('<file>', 'backup file, or - for stdin')
    .option('--json', 'machine-readable output on stdout')
    .action((file: string, o: { json?: boolean }) =>
      run(async () => {
        const readFailed = (err: unknown) => {
          throw fileError(err, file, 'read', 'FILE');
        };
        const st = file === '-' ? null : await stat(file).catch(readFailed);
        if (st?.isDirectory()) readFailed(Object.assign(new Error(file), { code: 'EISDIR' }));
        const size = st ? st.size : null;
        const info = await describeFile(file, size, () =>
          file === '-' ? readStdin() : readFile(file).catch(readFailed),
        );
        printInfo(info, Boolean(o.json));
      }),
    );
}

async function readStdin(): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
