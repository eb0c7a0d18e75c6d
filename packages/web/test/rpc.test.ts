/**
 * The page ↔ worker RPC over a real MessageChannel: a value marked by `transfer` moves
 * its buffers (the sender keeps an emptied view, no second copy), and an unmarked one is
 * copied as before.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createRpc, type MessageEndpoint, transfer } from '../src/backup-worker/rpc.ts';

type Side = {
  take(files: Map<string, Uint8Array>): Promise<number[]>;
  give(): Promise<Uint8Array>;
};

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

function pair(given: () => Uint8Array) {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const received: Map<string, Uint8Array>[] = [];
  const a = createRpc<Side>(port1 as unknown as MessageEndpoint, {});
  createRpc<Record<string, never>>(port2 as unknown as MessageEndpoint, {
    take: (files: Map<string, Uint8Array>) => {
      received.push(files);
      return [...files.values()].map((d) => d.length);
    },
    give: () => {
      const d = given();
      return transfer(d, [d.buffer as ArrayBuffer]);
    },
  });
  port1.start();
  port2.start();
  return { a, received };
}

describe('rpc transfer', () => {
  it("moves a call argument's marked buffers: the caller's views are emptied", async () => {
    const { a, received } = pair(() => new Uint8Array(0));
    const db = new Uint8Array(4096).fill(7);
    const settings = new Uint8Array([1, 2, 3]);
    const files = new Map([
      ['wallet.sqlite', db],
      ['settings.json', settings],
    ]);
    const sizes = await a.call(
      'take',
      transfer(files, [db.buffer as ArrayBuffer, settings.buffer as ArrayBuffer]),
    );
    expect(sizes).toEqual([4096, 3]);
    expect(received[0]?.get('wallet.sqlite')?.every((b) => b === 7)).toBe(true);
    expect([...(received[0]?.get('settings.json') ?? [])]).toEqual([1, 2, 3]);
    // Moved, not copied: the caller no longer holds the bytes.
    expect(db.byteLength).toBe(0);
    expect(settings.byteLength).toBe(0);
  });

  it('copies an unmarked argument, which the caller keeps', async () => {
    const { a } = pair(() => new Uint8Array(0));
    const db = new Uint8Array(16).fill(9);
    expect(await a.call('take', new Map([['wallet.sqlite', db]]))).toEqual([16]);
    expect(db.byteLength).toBe(16);
  });

  it("moves a handler's marked result", async () => {
    const kept: Uint8Array[] = [];
    const { a } = pair(() => {
      const d = new Uint8Array(32).fill(5);
      kept.push(d);
      return d;
    });
    const got = await a.call('give');
    expect(got.length).toBe(32);
    expect(got.every((b) => b === 5)).toBe(true);
    expect(kept[0]?.byteLength).toBe(0);
  });
});
