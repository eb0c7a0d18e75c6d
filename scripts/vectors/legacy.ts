/**
 * seed-v0 and noah-v1 test vectors (docs/FORMAT.md §3, §4, §7), and the format-agnostic
 * "not a backup" inputs of §2. Negatives edit the decoded blob or the base64 text of a
 * positive vector; each breaks one thing.
 * @module
 */
import { concatBytes, utf8ToBytes } from '../../packages/core/src/bytes.ts';
import { encryptBackupBytes } from '../../packages/core/src/format.ts';
import { createKeyring } from '../../packages/core/src/keys.ts';
import { decodeLegacyText, encodeLegacyText } from '../../packages/core/src/legacy-text.ts';
import {
  CREATED_AT,
  type Expect,
  flipBit,
  generate,
  INLINE_PLAINTEXT_MAX,
  type LineWrap,
  MNEMONIC,
  OTHER_MNEMONIC,
  sha256Stream,
  seededRandom,
  UNICODE_PHRASE,
  type Vector,
  wrapText,
} from './common.ts';

type Legacy = 'seed-v0' | 'noah-v1';

interface LegacySpec {
  name: string;
  format: Legacy;
  length: number;
  note: string;
  phrase?: string;
  lineWrap?: LineWrap;
  /** Label of the seeded randomness when it is not the vector's name. */
  randomLabel?: string;
}

/** Android's `Base64.DEFAULT`: LF every 76 characters and at the end. */
const ANDROID: LineWrap = { width: 76, eol: '\n', final: true };
/** MIME (RFC 2045 §6.8): CRLF every 76 characters. */
const MIME: LineWrap = { width: 76, eol: '\r\n', final: false };

/** A label whose seeded randomness starts with 0x01 (a seed-v0 IV that looks like noah-v1). */
function labelWithFirstByte(name: string, first: number): string {
  for (let k = 0; ; k++) {
    const label = `${name}#${k}`;
    if (sha256Stream(`random:${label}`, 1)[0] === first) return label;
  }
}

function specs(): LegacySpec[] {
  const out: LegacySpec[] = [];
  for (const format of ['seed-v0', 'noah-v1'] as const)
    for (const n of [0, 1, 4096])
      out.push({ name: `${format}-${n}`, format, length: n, note: `${n}-byte plaintext` });
  out.push(
    {
      name: 'seed-v0-unicode-phrase',
      format: 'seed-v0',
      length: 100,
      phrase: UNICODE_PHRASE,
      note: 'a non-BIP39 passphrase with non-ASCII text and surrounding whitespace (trimmed, not normalised)',
    },
    {
      name: 'noah-v1-unicode-phrase',
      format: 'noah-v1',
      length: 100,
      phrase: UNICODE_PHRASE,
      note: 'a non-BIP39 passphrase with non-ASCII text and surrounding whitespace (trimmed, not normalised)',
    },
    {
      name: 'seed-v0-iv01',
      format: 'seed-v0',
      length: 64,
      randomLabel: labelWithFirstByte('seed-v0-iv01', 0x01),
      note: 'the IV starts with 0x01: detection cannot tell it from noah-v1 (FORMAT.md §2.2)',
    },
    {
      name: 'seed-v0-wrapped-lf',
      format: 'seed-v0',
      length: 1000,
      lineWrap: ANDROID,
      note: "line-wrapped like Android's Base64.DEFAULT: LF every 76 characters and at the end",
    },
    {
      name: 'seed-v0-wrapped-crlf',
      format: 'seed-v0',
      length: 1000,
      lineWrap: MIME,
      note: 'line-wrapped like MIME: CRLF every 76 characters',
    },
    {
      name: 'noah-v1-wrapped-lf',
      format: 'noah-v1',
      length: 1000,
      lineWrap: ANDROID,
      note: "line-wrapped like Android's Base64.DEFAULT: LF every 76 characters and at the end",
    },
  );
  return out;
}

async function positive(spec: LegacySpec): Promise<Vector> {
  const phrase = spec.phrase ?? MNEMONIC;
  const keyring = await createKeyring(phrase);
  try {
    const plaintext = generate('pattern', spec.length);
    const { random, used } = seededRandom(spec.randomLabel ?? spec.name);
    const text = await encryptBackupBytes(plaintext, {
      format: spec.format,
      keyring,
      createdAt: CREATED_AT,
      compress: false,
      random,
    });
    return {
      name: spec.name,
      format: spec.format,
      expect: 'ok',
      mnemonic: phrase,
      note: spec.note,
      plaintext,
      ...(spec.length > INLINE_PLAINTEXT_MAX ? { plaintextGenerator: 'pattern' } : {}),
      blob: spec.lineWrap ? wrapText(text, spec.lineWrap) : text,
      writer: { random: used(), ...(spec.lineWrap ? { lineWrap: spec.lineWrap } : {}) },
    };
  } finally {
    keyring.destroy();
  }
}

/** Builds negatives of one positive vector. */
function deriver(base: Vector) {
  const blob = decodeLegacyText(base.blob);
  const text = new TextDecoder().decode(base.blob);
  const make = (
    suffix: string,
    expect: Expect,
    bytes: Uint8Array,
    mutation: string,
    extra: Partial<Vector> = {},
  ): Vector => ({
    name: `${base.format}-${suffix}`,
    format: base.format as Legacy,
    expect,
    mnemonic: base.mnemonic,
    note: mutation,
    plaintext: base.plaintext,
    blob: bytes,
    base: base.name,
    mutation,
    maxReleasedBytes: 0,
    ...extra,
  });
  return {
    /** A negative made by editing the decoded blob and encoding it again. */
    blob: (suffix: string, expect: Expect, edit: (b: Uint8Array) => Uint8Array, m: string) =>
      make(suffix, expect, encodeLegacyText(edit(blob)), m),
    /** A negative made by editing the base64 text. */
    text: (suffix: string, expect: Expect, edit: (t: string) => string, m: string) =>
      make(suffix, expect, utf8ToBytes(edit(text)), m),
    same: (suffix: string, expect: Expect, m: string, extra: Partial<Vector>) =>
      make(suffix, expect, base.blob, m, extra),
  };
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Sets the lowest bit of the last data character before the padding: non-canonical. */
function noncanonical(t: string): string {
  const i = t.indexOf('=') - 1;
  return t.slice(0, i) + B64[B64.indexOf(t[i]!) ^ 1] + t.slice(i + 1);
}

/**
 * The tamperings both legacy formats share (docs/FORMAT.md §7): a flipped bit of the
 * ciphertext at `ciphertextAt` and of the tag, the last byte removed, bytes appended,
 * another seedphrase. Split in two: each format lists its own cases between them.
 */
function sealedNegatives(d: ReturnType<typeof deriver>, ciphertextAt: number) {
  return {
    body: [
      d.blob(
        'flip-ciphertext',
        'decryption_failed',
        (b) => flipBit(b, ciphertextAt),
        'flipped bit 0 of the ciphertext',
      ),
      d.blob(
        'flip-tag',
        'decryption_failed',
        (b) => flipBit(b, -1),
        'flipped bit 0 of the tag, last byte',
      ),
      d.blob(
        'truncated',
        'decryption_failed',
        (b) => b.subarray(0, -1),
        'last byte of the blob removed',
      ),
    ],
    tail: [
      d.blob(
        'trailing-bytes',
        'decryption_failed',
        (b) => concatBytes(b, new Uint8Array(3)),
        'three 0x00 bytes appended to the blob',
      ),
      d.same('wrong-seedphrase', 'decryption_failed', 'read with another seedphrase', {
        mnemonic: OTHER_MNEMONIC,
      }),
    ],
  };
}

function seedV0Negatives(p: Map<string, Vector>): Vector[] {
  const d = deriver(p.get('seed-v0-1')!);
  const big = deriver(p.get('seed-v0-4096')!);
  const sealed = sealedNegatives(d, 12);
  return [
    d.blob('flip-iv', 'decryption_failed', (b) => flipBit(b, 0, 1), 'flipped bit 1 of the IV'),
    ...sealed.body,
    d.blob(
      'too-short',
      'not_a_backup',
      (b) => b.subarray(0, 27),
      'blob cut to 27 bytes, shorter than IV and tag',
    ),
    ...sealed.tail,
    d.text(
      'base64-invalid-char',
      'not_a_backup',
      (t) => `${t.slice(0, 10)}!${t.slice(11)}`,
      "character 10 replaced by '!'",
    ),
    d.text(
      'base64-url-alphabet',
      'not_a_backup',
      (t) => `${t.slice(0, 10)}-${t.slice(11)}`,
      "character 10 replaced by '-' (URL-safe alphabet)",
    ),
    d.text(
      'base64-missing-padding',
      'not_a_backup',
      (t) => t.replace(/=+$/, ''),
      "the '=' padding removed",
    ),
    d.text(
      'base64-noncanonical',
      'not_a_backup',
      noncanonical,
      'a pad bit set in the last character before the padding',
    ),
    d.text(
      'base64-inner-space',
      'not_a_backup',
      (t) => `${t.slice(0, 20)} ${t.slice(20)}`,
      'a space inside the text (only CR and LF may appear there)',
    ),
    big.same('over-cap', 'limit_exceeded', 'a 4096-byte plaintext read with a cap of 1024', {
      maxPlaintextBytes: 1024,
    }),
  ];
}

function noahV1Negatives(p: Map<string, Vector>): Vector[] {
  const d = deriver(p.get('noah-v1-1')!);
  const sealed = sealedNegatives(d, 29);
  return [
    d.blob(
      'flip-version',
      'decryption_failed',
      (b) => flipBit(b, 0, 1),
      'version byte 0x01 -> 0x03: read as seed-v0, which fails',
    ),
    d.blob('flip-salt', 'decryption_failed', (b) => flipBit(b, 1), 'flipped bit 0 of the salt'),
    d.blob('flip-iv', 'decryption_failed', (b) => flipBit(b, 17), 'flipped bit 0 of the IV'),
    ...sealed.body,
    d.blob(
      'too-short',
      'decryption_failed',
      (b) => b.subarray(0, 44),
      'blob cut to 44 bytes: too short for noah-v1, so read as seed-v0, which fails',
    ),
    ...sealed.tail,
    d.text(
      'base64-bad-padding',
      'not_a_backup',
      (t) => t.slice(0, -1),
      "one of the two '=' removed",
    ),
  ];
}

/** Inputs that are no backup at all (FORMAT.md §2.1 step 4). */
function detectNegatives(): Vector[] {
  const junk = (name: string, bytes: Uint8Array, note: string): Vector => ({
    name: `detect-${name}`,
    format: 'detect',
    expect: 'not_a_backup',
    mnemonic: MNEMONIC,
    note,
    plaintext: new Uint8Array(0),
    blob: bytes,
    mutation: note,
    maxReleasedBytes: 0,
  });
  return [
    junk('empty', new Uint8Array(0), 'an empty file'),
    junk('whitespace', utf8ToBytes('\r\n\n'), 'line breaks only'),
    junk('text', utf8ToBytes('hello, world!\n'), 'ASCII text that is not base64'),
    junk(
      'png',
      Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13),
      'a PNG signature (0x89 like the v2 magic, then "PNG")',
    ),
  ];
}

/**
 * Every legacy and detection vector, positives first.
 * @returns the vectors, named uniquely
 */
export async function legacyVectors(): Promise<Vector[]> {
  const positives = new Map<string, Vector>();
  for (const s of specs()) positives.set(s.name, await positive(s));
  return [
    ...positives.values(),
    ...seedV0Negatives(positives),
    ...noahV1Negatives(positives),
    ...detectNegatives(),
  ];
}
