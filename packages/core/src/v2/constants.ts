/**
 * Constants of the v2 format (FORMAT.md §5). Changing any of them changes the format.
 * @module
 */

/** The 8-byte magic, "\x89NOAH\r\n\x1a" (FORMAT.md §5.3): not text, not base64. */
export const V2_MAGIC: Uint8Array = Uint8Array.of(0x89, 0x4e, 0x4f, 0x41, 0x48, 0x0d, 0x0a, 0x1a);
/** The version byte that follows the magic. */
export const V2_VERSION = 2;
/** Bytes in a v2 header, MAC included (FORMAT.md §5.3). */
export const V2_HEADER_LENGTH = 92;
/** Bytes of the header covered by the header MAC (all but the MAC itself). */
export const V2_HEADER_MAC_OFFSET = 60;
/** Plaintext bytes per chunk (256 KiB); only the final chunk may be shorter (FORMAT.md §5.4). */
export const V2_CHUNK_SIZE = 262144;
/** AES-GCM tag bytes appended to every chunk. */
export const V2_TAG_SIZE = 16;
/** Bytes of a full sealed chunk: ciphertext and tag. */
export const V2_SEALED_CHUNK_SIZE = V2_CHUNK_SIZE + V2_TAG_SIZE;
/** Most chunks a v2 file may have (2^32, i.e. 1 PiB of payload; FORMAT.md §5.4). */
export const V2_MAX_CHUNKS = 2 ** 32;
/** Largest created_at value: the ECMAScript time value limit (8.64e15 ms). */
export const V2_MAX_CREATED_AT = 8.64e15;
/** Default cap on the plaintext `openV2` yields: 8 GiB. */
export const V2_DEFAULT_MAX_PLAINTEXT = 8 * 2 ** 30;

/** HKDF info label of the header MAC key (FORMAT.md §5.2). */
export const V2_HEADER_LABEL = 'noah-backup/v2/header';
/** HKDF info label of the payload key (FORMAT.md §5.2). */
export const V2_PAYLOAD_LABEL = 'noah-backup/v2/payload';
