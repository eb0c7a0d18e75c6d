/**
 * v2 test vectors (docs/FORMAT.md §5, §7): positives at the chunk edges with and without
 * compression, header-field extremes, and negatives that each break one thing. Crafted
 * negatives (a valid MAC over a bad header, wrong chunk flags) use the format's own
 * parts under the vectors' key, so each breaks exactly one rule.
 * @module
 */
import { encryptBackupBytes } from '../../packages/core/src/format.ts';
import { createKeyring, type Keyring } from '../../packages/core/src/keys.ts';
import { V2_CHUNK_SIZE as C } from '../../packages/core/src/v2/constants.ts';
import type { PayloadKind } from '../../packages/core/src/v2/header.ts';
import {
  CREATED_AT,
  generate,
  INLINE_PLAINTEXT_MAX,
  MNEMONIC,
  seededRandom,
  type Vector,
} from './common.ts';
import {
  chunkNegatives,
  compressionNegatives,
  headerNegatives,
  type Positives,
} from './v2-negative.ts';

interface V2Spec {
  name: string;
  length: number;
  generator: string;
  compress: boolean;
  /** The algorithm when compressing (default deflate). */
  compression?: 'deflate' | 'zstd';
  note: string;
  sequence?: bigint;
  createdAt?: Date;
  payloadKind?: PayloadKind;
}

async function positive(keyring: Keyring, spec: V2Spec): Promise<Vector> {
  const plaintext = generate(spec.generator, spec.length);
  const { random, used } = seededRandom(spec.name);
  const createdAt = spec.createdAt ?? CREATED_AT;
  const sequence = spec.sequence ?? 1n;
  const payloadKind = spec.payloadKind ?? 'raw';
  const blob = await encryptBackupBytes(plaintext, {
    format: 'v2',
    keyring,
    createdAt,
    sequence,
    payloadKind,
    compress: spec.compress,
    ...(spec.compression ? { compression: spec.compression } : {}),
    random,
  });
  return {
    name: spec.name,
    format: 'v2',
    expect: 'ok',
    mnemonic: MNEMONIC,
    note: spec.note,
    plaintext,
    ...(spec.length > INLINE_PLAINTEXT_MAX ? { plaintextGenerator: spec.generator } : {}),
    blob,
    writer: {
      random: used(),
      createdAt,
      sequence,
      compress: spec.compress,
      ...(spec.compression ? { compression: spec.compression } : {}),
      payloadKind,
    },
  };
}

/** Positive specs: every edge size with compression off and on, plus header extremes. */
function positiveSpecs(): V2Spec[] {
  const specs: V2Spec[] = [];
  const modes = [
    ['none', 'stored'],
    ['deflate', 'zlib-compressed'],
    ['zstd', 'zstd-compressed'],
  ] as const;
  for (const [mode, how] of modes)
    for (const n of [0, 1, C - 1, C, C + 1])
      specs.push({
        name: `v2-${mode}-${n}`,
        length: n,
        generator: 'pattern',
        compress: mode !== 'none',
        ...(mode === 'zstd' ? { compression: mode } : {}),
        note: `${n}-byte payload, ${how}`,
      });
  specs.push(
    {
      name: `v2-none-${2 * C + 1}`,
      length: 2 * C + 1,
      generator: `sha256-stream:v2-none-${2 * C + 1}`,
      compress: false,
      note: 'three chunks: two full, one of 1 byte (base of the chunk-level negatives)',
    },
    {
      name: `v2-deflate-random-${C + 4464}`,
      length: C + 4464,
      generator: `sha256-stream:v2-deflate-random-${C + 4464}`,
      compress: true,
      note: 'incompressible data: the zlib stream spans two chunks',
    },
    {
      name: `v2-zstd-random-${C + 4464}`,
      length: C + 4464,
      generator: `sha256-stream:v2-zstd-random-${C + 4464}`,
      compress: true,
      compression: 'zstd',
      note: 'incompressible data: the zstd frame spans two chunks',
    },
    {
      name: 'v2-header-min',
      length: 10,
      generator: 'pattern',
      compress: false,
      sequence: 0n,
      createdAt: new Date(0),
      payloadKind: 'tar',
      note: 'smallest header values: sequence 0, created_at 0 (1970-01-01), payload kind tar',
    },
    {
      name: 'v2-header-max',
      length: 10,
      generator: 'pattern',
      compress: true,
      sequence: 2n ** 64n - 1n,
      createdAt: new Date(8.64e15),
      payloadKind: 'zip',
      note: 'largest header values: sequence 2^64-1, created_at 8.64e15 ms, payload kind zip',
    },
  );
  return specs;
}

/**
 * Every v2 vector, positives first.
 * @returns the vectors, named uniquely
 */
export async function v2Vectors(): Promise<Vector[]> {
  const keyring = await createKeyring(MNEMONIC);
  try {
    const specs = positiveSpecs();
    specs.push(
      {
        name: `v2-deflate-zeros-${4 * C}`,
        length: 4 * C,
        generator: 'zeros',
        compress: true,
        note: `${4 * C} zero bytes, compressed to about a thousandth (base of the cap vector)`,
      },
      {
        name: `v2-zstd-zeros-${4 * C}`,
        length: 4 * C,
        generator: 'zeros',
        compress: true,
        compression: 'zstd',
        note: `${4 * C} zero bytes, zstd-compressed to a few dozen bytes (base of a cap vector)`,
      },
    );
    const positives: Positives = new Map();
    for (const s of specs) positives.set(s.name, await positive(keyring, s));
    return [
      ...positives.values(),
      ...headerNegatives(keyring, positives),
      ...(await chunkNegatives(keyring, positives)),
      ...(await compressionNegatives(keyring, positives)),
    ];
  } finally {
    keyring.destroy();
  }
}
