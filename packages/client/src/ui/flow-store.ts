/**
 * The store a screen's flow keeps its state in: one immutable state object, replaced on
 * every change, and listeners told after each. The web app and the React Native example
 * subscribe their screens to it (`useFlow` in `@noah-backup/client/react`); tests read it
 * directly, with no rendering.
 * @module
 */

/** A flow's state, readable and observable; what `useFlow` subscribes to. */
export interface Flow<S> {
  /** The current state (the same object until something changes). */
  getState(): S;
  /**
   * Calls `listener` after every change.
   * @returns a function that stops the calls
   */
  subscribe(listener: () => void): () => void;
}

/** A {@link Flow} whose owner can change the state. */
export interface FlowStore<S> extends Flow<S> {
  /** Replaces the named fields and tells the listeners. */
  set(patch: Partial<S>): void;
}

/**
 * A store holding `initial` until the first `set`.
 *
 * @param initial - the first state
 * @returns the store
 * @example
 * ```ts
 * const s = createFlowStore({ busy: false });
 * s.subscribe(() => console.log(s.getState().busy));
 * s.set({ busy: true }); // logs true
 * ```
 */
export function createFlowStore<S extends object>(initial: S): FlowStore<S> {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(patch) {
      state = { ...state, ...patch };
      for (const l of [...listeners]) l();
    },
  };
}
