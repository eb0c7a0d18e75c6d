/**
 * `AbortSignal.prototype.throwIfAborted` where the platform lacks it: React Native
 * installs the `abort-controller` package as its AbortController, whose signals have
 * `aborted` but no `throwIfAborted`, and the SDK calls it on every signal it is given
 * (docs/REACT-NATIVE.md §3). The setup module installs it.
 * @module
 */

/**
 * Gives `ctor.prototype` a `throwIfAborted` that throws the signal's `reason`, or an
 * Error named `AbortError` (what the SDK maps to `aborted`), once aborted. Does nothing
 * where the method exists or there is no AbortSignal.
 * @param ctor - the AbortSignal class (default: the global one)
 */
export function polyfillAbortSignal(
  ctor: { prototype: object } | undefined = (globalThis as { AbortSignal?: { prototype: object } })
    .AbortSignal,
): void {
  if (ctor === undefined || 'throwIfAborted' in ctor.prototype) return;
  Object.defineProperty(ctor.prototype, 'throwIfAborted', {
    configurable: true,
    writable: true,
    value(this: { aborted: boolean; reason?: unknown }): void {
      if (!this.aborted) return;
      if (this.reason !== undefined) throw this.reason;
      const e = new Error('This operation was aborted');
      e.name = 'AbortError';
      throw e;
    },
  });
}
