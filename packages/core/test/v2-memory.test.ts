import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encryptV2, openV2 } from '../src/v2/index.ts';
import { CREATED_AT, KEY, payload } from './v2-helpers.ts';

const MIB = 1024 * 1024;

describe('v2 streams in constant memory', () => {
  it('256 MiB through encrypt → decrypt without collecting: RSS grows < 64 MiB', async () => {
    const total = 256;
    const template = payload(MIB, 11);
    const inHash = createHash('sha256');
    const outHash = createHash('sha256');
    async function* generate() {
      for (let i = 0; i < total; i++) {
        const chunk = template.slice(); // fresh each time: a source must not reuse buffers
        new DataView(chunk.buffer).setUint32(0, i);
        inHash.update(chunk);
        yield chunk;
      }
    }
    const file = encryptV2(generate(), {
      key: KEY,
      createdAt: CREATED_AT,
      sequence: 1,
      compress: false,
    });
    const { plaintext } = await openV2(file, { key: KEY });
    let bytes = 0;
    let baseline = 0;
    let peak = 0;
    for await (const chunk of plaintext) {
      outHash.update(chunk);
      bytes += chunk.length;
      const rss = process.memoryUsage().rss;
      if (bytes <= 8 * MIB)
        baseline = Math.max(baseline, rss); // after warm-up
      else peak = Math.max(peak, rss);
    }
    expect(bytes).toBe(total * MIB);
    expect(outHash.digest('hex')).toBe(inHash.digest('hex'));
    expect(peak - baseline).toBeLessThan(64 * MIB);
  });

  it('64 MiB compressed round trip stays bounded too', async () => {
    const total = 64;
    const template = payload(MIB, 12);
    async function* generate() {
      for (let i = 0; i < total; i++) yield template.slice();
    }
    const file = encryptV2(generate(), { key: KEY, createdAt: CREATED_AT, sequence: 1 });
    const { plaintext } = await openV2(file, { key: KEY });
    let bytes = 0;
    let baseline = 0;
    let peak = 0;
    for await (const chunk of plaintext) {
      bytes += chunk.length;
      const rss = process.memoryUsage().rss;
      if (bytes <= 4 * MIB) baseline = Math.max(baseline, rss);
      else peak = Math.max(peak, rss);
    }
    expect(bytes).toBe(total * MIB);
    expect(peak - baseline).toBeLessThan(64 * MIB);
  });
});
