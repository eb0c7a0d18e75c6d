/**
 * The ports' file seam (`src/ports/files.ts`) on Node's file system, for the contract
 * kits: the same operations expo-file-system gives the app on a phone (`expo-files.ts`),
 * with the same meaning (positioned reads and writes, renames within a volume).
 * @module
 */
import { promises as fsp } from 'node:fs';
import type { RnFiles } from '../../src/ports/files.ts';

export const nodeFiles: RnFiles = {
  async stat(path) {
    const st = await fsp.stat(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (st === null) return null;
    return { type: st.isDirectory() ? 'directory' : 'file', size: st.size };
  },
  list: (path) => fsp.readdir(path),
  async mkdir(path) {
    await fsp.mkdir(path, { recursive: true });
  },
  async create(path) {
    await fsp.writeFile(path, new Uint8Array(0), { mode: 0o600 });
  },
  async read(path, position, length) {
    const fh = await fsp.open(path, 'r');
    try {
      const buf = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await fh.read(buf, filled, length - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buf.subarray(0, filled);
    } finally {
      await fh.close();
    }
  },
  async write(path, position, data) {
    const fh = await fsp.open(path, 'r+');
    try {
      let done = 0;
      while (done < data.length)
        done += (await fh.write(data, done, data.length - done, position + done)).bytesWritten;
    } finally {
      await fh.close();
    }
  },
  async move(from, to) {
    if (await fsp.stat(to).catch(() => null)) throw new Error(`${to} exists`);
    await fsp.rename(from, to);
  },
  remove: (path) => fsp.rm(path, { recursive: true, force: true }),
};
