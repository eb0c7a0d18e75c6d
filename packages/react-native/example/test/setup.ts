/**
 * What the tests' JavaScript meets on a phone, where Node's differs:
 *
 * - React Native's `AbortController` and `AbortSignal`: Libraries/Core/setUpXHR.js
 *   installs abort-controller 3's, which have neither `reason` nor `throwIfAborted()`.
 *   The phone's fetch (whatwg-fetch over XHR) takes their signals; Node's fetch wants its
 *   own, so the fetch here bridges one to the other and rejects an aborted request with
 *   an `AbortError`, as whatwg-fetch does.
 * - waitFor's patience: each test backs up to a real server with core's pure-JavaScript
 *   crypto, which on a busy shared machine takes seconds, not React's usual milliseconds.
 */
import { configure } from '@testing-library/react-native';
// The very module React Native installs (Libraries/Core/setUpXHR.js).
import * as rn from 'abort-controller/dist/abort-controller';

const NodeAbortController = globalThis.AbortController;
const nodeFetch = globalThis.fetch;
Object.assign(globalThis, { AbortController: rn.AbortController, AbortSignal: rn.AbortSignal });
globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
  const signal = init?.signal;
  if (!signal) return nodeFetch(input, init);
  const bridge = new NodeAbortController();
  if (signal.aborted) bridge.abort();
  else signal.addEventListener('abort', () => bridge.abort(), { once: true });
  try {
    return await nodeFetch(input, { ...init, signal: bridge.signal });
  } catch (err) {
    if (bridge.signal.aborted) throw Object.assign(new Error('Aborted'), { name: 'AbortError' });
    throw err;
  }
};

configure({ asyncUtilTimeout: 30_000 });
