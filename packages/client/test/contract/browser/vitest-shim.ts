/**
 * What the contract kits take from `vitest` (`describe`, `it`, `expect`), for the
 * browser bundle of the kits (`run.ts` aliases `vitest` to this file): `describe` and
 * `it` record the tests into a registry that the page runs one by one, on request from
 * the Node side; `expect` is vitest's own (`@vitest/expect`, its matchers over chai).
 * @module
 */
import {
  ChaiStyleAssertions,
  chai,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
} from '@vitest/expect';
import type { expect as vitestExpect } from 'vitest';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(ChaiStyleAssertions);
chai.use(JestAsymmetricMatchers);

/** vitest's `expect`, without the parts that need vitest's runner (`poll`, snapshots). */
export const expect = ((value: unknown, message?: string) =>
  chai.expect(value, message)) as unknown as typeof vitestExpect;

type TestFn = () => unknown;

const tests = new Map<string, TestFn>();
const scope: string[] = [];

/** Records the tests that `body` declares, their names prefixed with `name`. */
export function describe(name: string, body: () => void): void {
  scope.push(name);
  try {
    body();
  } finally {
    scope.pop();
  }
}

/** Records one test under its full name (`describe` names and its own, by ` > `). */
export function it(name: string, fn: TestFn): void {
  const full = [...scope, name].join(' > ');
  if (tests.has(full)) throw new Error(`two tests named ${full}`);
  tests.set(full, fn);
}

/** The recorded tests, for the page's `kit` object. */
export const registry = {
  names: (): string[] => [...tests.keys()],
  /** Runs one test; its failure as text (message and stack), or null. */
  async run(name: string): Promise<string | null> {
    const fn = tests.get(name);
    if (!fn) return `no test named ${name}`;
    try {
      await fn();
      return null;
    } catch (err) {
      return err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
    }
  },
};
