import { describe, expect, it } from 'vitest';
import {
  ArchiveError,
  type ArchiveKind,
  packArchive,
  unpackArchive,
} from '../src/adapters/archive.ts';

const limits = {
  allowedNames: ['wallet.sqlite', 'settings.json'],
  maxEntryBytes: 4096,
  maxTotalBytes: 6000,
};
const t = new Date('2026-01-02T03:04:05Z');
const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

describe.each(['tar', 'zip'] as ArchiveKind[])('%s archive', (kind) => {
  it('round-trips entries of boundary sizes', () => {
    for (const size of [0, 1, 511, 512, 513, 1025, 4096]) {
      const files = [
        { name: 'wallet.sqlite', data: bytes(size, size % 251) },
        { name: 'settings.json', data: new TextEncoder().encode('{"a":1}') },
      ];
      const out = unpackArchive(kind, packArchive(kind, files, t), limits);
      expect(out.get('wallet.sqlite')).toEqual(files[0]!.data);
      expect(new TextDecoder().decode(out.get('settings.json'))).toBe('{"a":1}');
    }
  });

  it.each([['../wallet.sqlite'], ['/etc/passwd'], ['dir/wallet.sqlite'], ['other.bin']])(
    'refuses the name %s',
    (name) => {
      const archive = packArchive(kind, [{ name, data: bytes(3) }], t);
      expect(() => unpackArchive(kind, archive, limits)).toThrow(ArchiveError);
    },
  );

  it('refuses an entry over the size cap', () => {
    const archive = packArchive(kind, [{ name: 'wallet.sqlite', data: bytes(4097) }], t);
    expect(() => unpackArchive(kind, archive, limits)).toThrow(/too large/);
  });

  it('refuses a total over the cap', () => {
    const archive = packArchive(
      kind,
      [
        { name: 'wallet.sqlite', data: bytes(4000) },
        { name: 'settings.json', data: bytes(4000) },
      ],
      t,
    );
    expect(() => unpackArchive(kind, archive, limits)).toThrow(/too large/);
  });
});

describe('tar guards', () => {
  const good = () => packArchive('tar', [{ name: 'wallet.sqlite', data: bytes(10) }], t);

  it('refuses a duplicate entry', () => {
    const one = packArchive('tar', [{ name: 'wallet.sqlite', data: bytes(10) }], t);
    const two = new Uint8Array(one.length + 1024);
    two.set(one.subarray(0, 1024));
    two.set(one.subarray(0, 1024), 1024);
    expect(() => unpackArchive('tar', two, limits)).toThrow(/twice/);
  });

  it('refuses a damaged header', () => {
    const a = good();
    a[0] = 0x58; // changes the name; the checksum no longer matches
    expect(() => unpackArchive('tar', a, limits)).toThrow(/damaged/);
  });

  it('refuses a symlink entry', () => {
    const a = good();
    a[156] = 0x32; // typeflag '2'
    // Recompute the checksum so only the type is wrong.
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : a[i]!;
    a.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\u0000 `), 148);
    expect(() => unpackArchive('tar', a, limits)).toThrow(/link/);
  });

  it('refuses a truncated archive and trailing data', () => {
    const a = good();
    expect(() => unpackArchive('tar', a.subarray(0, 700), limits)).toThrow(/truncated/);
    const trailing = new Uint8Array(a.length + 512);
    trailing.set(a);
    trailing[a.length + 3] = 1;
    expect(() => unpackArchive('tar', trailing, limits)).toThrow(/after the end/);
  });
});
