/**
 * The POSIX ustar header layout both the tar reader and the writer use (POSIX.1-2001
 * `pax` "ustar Interchange Format"): 512-byte blocks, the header checksum, the padding
 * of a file's data to a block boundary.
 * @module
 */

/** A tar block: every header and every file's padded data are whole blocks. */
export const BLOCK = 512;

/** Bytes of zeros after `size` bytes of data, up to the next block. */
export const padding = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

/** Header checksum: the sum of all 512 bytes with the checksum field (148..155) as spaces. */
export function checksum(h: Uint8Array): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += h[i]!;
  for (let i = 156; i < BLOCK; i++) sum += h[i]!;
  return sum;
}
