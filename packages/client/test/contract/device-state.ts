/**
 * The contract of `DeviceStateStore` (`src/ports.ts`) as a kit, run on every platform's
 * store: in Node (`node.test.ts`) and in headless Chromium (`web.test.ts`).
 * Platform-neutral: it imports nothing of Node, so the browser bundle runs it as it is.
 * Atomicity across processes is the Node store's own test (`node-state.test.ts`).
 * @module
 */
import { describe, expect, it } from 'vitest';
import type { DeviceStateStore } from '../../src/ports.ts';

/**
 * Runs the contract on one implementation.
 * @param name - the implementation, e.g. "Node (a JSON file)"
 * @param factory - a fresh, empty store per test
 */
export function deviceStateContract(
  name: string,
  factory: () => DeviceStateStore | Promise<DeviceStateStore>,
): void {
  describe(`DeviceStateStore contract: ${name}`, () => {
    it('a missing key is null, and deleting it does nothing', async () => {
      const s = await factory();
      expect(await s.get('x')).toBeNull();
      await s.delete('x');
      expect(await s.get('x')).toBeNull();
    });

    it('sets, overwrites and deletes, each key on its own', async () => {
      const s = await factory();
      await s.set('a', '1');
      await s.set('b', '2');
      await s.set('a', '3');
      expect(await s.get('a')).toBe('3');
      expect(await s.get('b')).toBe('2');
      await s.delete('a');
      expect(await s.get('a')).toBeNull();
      expect(await s.get('b')).toBe('2');
    });

    it('keeps keys and values verbatim', async () => {
      const s = await factory();
      const pairs: [string, string][] = [
        ['__proto__', 'data, not a prototype'],
        ['constructor', ''],
        ['é.key with spaces', 'é\n"{}"\u0000'],
        ['long', 'x'.repeat(10_000)],
      ];
      for (const [k, v] of pairs) await s.set(k, v);
      for (const [k, v] of pairs) expect(await s.get(k)).toBe(v);
    });

    it('compareAndSet writes when absent, then only when canReplace agrees', async () => {
      const s = await factory();
      const seen: string[] = [];
      expect(await s.compareAndSet('lock', 'a', () => true)).toBe(true);
      expect(
        await s.compareAndSet('lock', 'b', (current) => {
          seen.push(current);
          return false;
        }),
      ).toBe(false);
      expect(seen).toEqual(['a']);
      expect(await s.get('lock')).toBe('a');
      expect(await s.compareAndSet('lock', 'c', (current) => current === 'a')).toBe(true);
      expect(await s.get('lock')).toBe('c');
    });

    it('of racing compareAndSet calls, exactly one writes', async () => {
      const s = await factory();
      const ids = Array.from({ length: 8 }, (_, i) => `run-${i}`);
      const wins = await Promise.all(ids.map((id) => s.compareAndSet('lock', id, () => false)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(await s.get('lock')).toBe(ids[wins.indexOf(true)]);
    });
  });
}
