/**
 * Errors that cross package boundaries. Each has a stable `code` of the error catalog
 * (`error-catalog.ts`, docs/API.md "Client error codes") that scripts, the CLI's exit
 * codes and the web UI's messages key on. Messages never contain secrets.
 * @module
 */
import type { CatalogCode } from './error-catalog.ts';

/** Base class: every error the Noah libraries throw on purpose. */
export class NoahError extends Error {
  /** Stable machine-readable code, one of the catalog's. */
  readonly code: CatalogCode;
  constructor(code: CatalogCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The input is not a Noah backup in any format this library knows (FORMAT.md §2). */
export class NotABackupError extends NoahError {
  constructor(message = 'not a Noah backup (unknown format)') {
    super('not_a_backup', message);
  }
}

/** The input is a Noah backup, but of a version this library cannot read. */
export class UnsupportedVersionError extends NoahError {
  readonly version: number;
  constructor(version: number) {
    super('unsupported_version', `unsupported backup format version ${version}`);
    this.version = version;
  }
}

/**
 * Every authentication failure: wrong seedphrase, flipped bits, truncation, reordered
 * chunks, trailing data. One opaque message on purpose: never say which (FORMAT.md §6).
 */
export class DecryptionError extends NoahError {
  constructor() {
    super('decryption_failed', 'wrong seedphrase, or the backup is corrupted or was tampered with');
  }
}

/** The seedphrase is not a valid BIP39 mnemonic (unknown word or bad checksum). */
export class InvalidMnemonicError extends NoahError {
  constructor(
    message = 'the seedphrase is not a valid BIP39 mnemonic (check the words and their order)',
  ) {
    super('invalid_mnemonic', message);
  }
}

/**
 * The backup is compressed with an algorithm this installation cannot run (zstd where
 * its addon did not load). Not a sign of damage: another installation can read it.
 */
export class UnsupportedCompressionError extends NoahError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unsupported_compression', message, options);
  }
}

/** A configured limit was exceeded (decompressed size cap, archive entry count…). */
export class LimitExceededError extends NoahError {
  constructor(message: string) {
    super('limit_exceeded', message);
  }
}

/**
 * The v2 file holds a payload kind this reader does not handle (FORMAT.md §5.6 item 5):
 * an incremental backup's manifest or pack met by a one-object reader, or a kind a newer
 * writer defined. Not a sign of damage: a client that supports it can read the backup.
 */
export class UnsupportedPayloadKindError extends NoahError {
  /** The kind as named in FORMAT.md §5.3 (`'manifest'`, `'pack'`), or its byte value. */
  readonly payloadKind: string | number;
  constructor(payloadKind: string | number) {
    super(
      'unsupported_payload_kind',
      typeof payloadKind === 'string'
        ? `this backup is an incremental backup (its ${payloadKind}), made by a newer client: use a client that supports incremental backups`
        : `this backup holds a payload kind (${payloadKind}) made by a newer client: use a client that supports it`,
    );
    this.payloadKind = payloadKind;
  }
}

/**
 * An incremental backup's manifest breaks a rule of FORMAT.md §8.6. It authenticated, so
 * only a writer holding the seedphrase made it: a broken writer, not an attacker.
 */
export class MalformedManifestError extends NoahError {
  constructor(rule: string) {
    super('malformed_manifest', `the backup's manifest is malformed: ${rule}`);
  }
}
