/**
 * Finds the server's `backup_trigger` (docs/PUSH.md §1: `{"type": "backup_trigger",
 * "notification_id": "…"}`) in what a push library hands to JavaScript. The server sends
 * it as the Expo message's `data`; it then reaches the app in one of these shapes:
 *
 * - the expo-notifications background task (`NotificationTaskPayload`): on Android the
 *   FCM data message's `body` as a JSON string, repeated in `data.dataString`; on iOS the
 *   APNs payload's `body` object, with `data.dataString` its JSON and `aps` beside it;
 * - a foreground `Notification` (`request.content.data`: the object itself), or a
 *   `NotificationResponse` (`notification.request.content.data`);
 * - a UnifiedPush message: the JSON object as text (or bytes, decoded by the caller).
 *
 * Nothing else is searched, and nothing deeper than those shapes: a push of any other
 * kind is not a trigger.
 * @module
 */
import type { BackupTriggerPayload } from '@noah-backup/core/api';

/** The server's limit on `notification_id` in reports (`POST /v0/backup/report`). */
const MAX_ID = 128;

/** The trigger itself, or null; `notification_id` is kept only when the server would take it. */
function asTrigger(value: unknown): BackupTriggerPayload | null {
  if (typeof value === 'string') {
    // Only JSON objects: any other text (a plain notification body) is not a trigger.
    if (!value.trimStart().startsWith('{')) return null;
    try {
      return asTrigger(JSON.parse(value));
    } catch {
      return null;
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const o = value as { type?: unknown; notification_id?: unknown };
  if (o.type !== 'backup_trigger') return null;
  const id = o.notification_id;
  // A trigger without a usable id still backs up; the report then names no trigger.
  return {
    type: 'backup_trigger',
    notification_id: typeof id === 'string' && id.length > 0 && id.length <= MAX_ID ? id : '',
  };
}

/** `o[key]` when `o` is an object. */
const at = (o: unknown, key: string): unknown =>
  o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined;

/**
 * The trigger in a push, or null when the push is something else.
 *
 * @param input - the task's `data`, a `Notification`, a `NotificationResponse`, the
 *   trigger object itself, or its JSON text
 * @returns the trigger (`notification_id` is `''` when it was missing or unusable)
 * @example
 * ```ts
 * findBackupTrigger({ data: { dataString: '{"type":"backup_trigger","notification_id":"ab"}' } });
 * // { type: 'backup_trigger', notification_id: 'ab' }
 * ```
 */
export function findBackupTrigger(input: unknown): BackupTriggerPayload | null {
  const data = at(input, 'data');
  const content = at(at(input, 'request'), 'content');
  const responseContent = at(at(at(input, 'notification'), 'request'), 'content');
  const candidates = [
    input,
    at(data, 'dataString'),
    at(data, 'body'),
    data,
    at(content, 'data'),
    at(responseContent, 'data'),
  ];
  for (const c of candidates) {
    const t = asTrigger(c);
    if (t) return t;
  }
  return null;
}
