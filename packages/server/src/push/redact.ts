/**
 * Redaction of push addresses for logs (push tokens and endpoints are
 * secrets-ish: whoever holds one can wake the device). A log line names an address only
 * by a short prefix: enough to tell two apart, not enough to use.
 * @module
 */

const EXPO_TOKEN = /^(Expo(?:nent)?PushToken)\[(.*)\]$/;

/**
 * Shortens a push address for logs: an Expo token keeps its kind and 4 characters, an
 * endpoint URL its origin, anything else 4 characters.
 *
 * @param address - an Expo push token or a UnifiedPush endpoint
 * @returns the redacted form
 * @example
 * ```ts
 * redactAddress('ExponentPushToken[abcdefghijkl]'); // 'ExponentPushToken[abcd…]'
 * redactAddress('https://ntfy.example/upAbC?up=1'); // 'https://ntfy.example/…'
 * ```
 */
export function redactAddress(address: string): string {
  const m = EXPO_TOKEN.exec(address);
  if (m) return `${m[1]}[${(m[2] ?? '').slice(0, 4)}…]`;
  try {
    const u = new URL(address);
    if (u.protocol === 'http:' || u.protocol === 'https:') return `${u.origin}/…`;
  } catch {
    // not a URL: fall through
  }
  return `${address.slice(0, 4)}…`;
}
