/**
 * The v2 backup format (docs/FORMAT.md §5): binary header with authenticated metadata and
 * key commitment, the payload stored, or compressed as zlib (`deflate`: every platform
 * writes it) or Zstandard (`zstd`: where the platform can write it, Node with its addon;
 * every reader decodes both, §5.4), then STREAM chunked AES-256-GCM.
 * @module
 */
export {
  V2_CHUNK_SIZE,
  V2_DEFAULT_MAX_PLAINTEXT,
  V2_HEADER_LABEL,
  V2_HEADER_LENGTH,
  V2_MAGIC,
  V2_MAX_CHUNKS,
  V2_PAYLOAD_LABEL,
  V2_SEALED_CHUNK_SIZE,
  V2_TAG_SIZE,
  V2_VERSION,
} from './constants.ts';
export { type OpenedV2, type OpenV2Options, decryptV2Bytes, openV2 } from './decrypt.ts';
export {
  type CompressionAlgorithm,
  checkCompression,
  type EncryptV2Options,
  encryptV2,
  encryptV2Bytes,
} from './encrypt.ts';
export {
  isV2,
  type PayloadKind,
  parseV2Header,
  type V2Compression,
  type V2Header,
  type V2PayloadKind,
} from './header.ts';
export { MAX_ZSTD_LEVEL } from '../platform/common.ts';
export { V2_MAX_PAYLOAD, v2ChunkCount, v2CiphertextSize, v2PayloadSize } from './size.ts';
