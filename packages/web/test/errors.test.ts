/**
 * The web app's messages are a total map over the error catalog: every code gets a
 * sentence and a next step of its own (only bugs share the generic one), a former code
 * reads as its successor, and what is not one of our errors still gets a sentence.
 */
import { ApiError } from '@noah-backup/client/errors';
import {
  type CatalogCode,
  ERROR_CATALOG,
  errorClass,
  FORMER_CODES,
} from '@noah-backup/core/error-catalog';
import { NoahError } from '@noah-backup/core/errors';
import { describe, expect, it } from 'vitest';
import { describeError, NoBackupsError } from '@noah-backup/client/ui/describe-error';
import { GENERIC, SERVER_TROUBLE } from '@noah-backup/client/ui/messages';

const codes = Object.keys(ERROR_CATALOG) as CatalogCode[];

describe('describeError', () => {
  it('says something of its own for every code but bugs', () => {
    for (const code of codes) {
      const h = describeError(new NoahError(code, 'an internal message, never shown'));
      expect(h.code).toBe(code);
      expect(h.title, code).toMatch(/^[A-Z].*\.$/);
      expect(h.next, code).toMatch(/^[A-Z].*\.$/);
      expect(`${h.title} ${h.next}`).not.toContain('never shown');
      if (errorClass(code) !== 'internal') expect(h.title, code).not.toBe(GENERIC.title);
    }
  });

  it('reads a former code, as a status stored before the merge holds it, as its successor', () => {
    for (const [former, now] of Object.entries(FORMER_CODES)) {
      const h = describeError({ code: former });
      expect(h).toEqual(describeError(new NoahError(now, 'x')));
      expect(h.code).toBe(now);
    }
  });

  it('keeps the messages of merged codes: a damaged archive, a damaged database', () => {
    expect(describeError({ code: 'corrupt_database' }).title).toBe(
      'This backup is corrupted: its wallet database is damaged.',
    );
    expect(describeError({ code: 'corrupt_archive' }).title).toMatch(/^This backup is damaged/);
    expect(describeError({ code: 'backup_in_progress' }).title).toMatch(/already running/);
    expect(describeError(new NoBackupsError()).code).toBe('no_backups');
  });

  it("a server's 5xx without its JSON, an unknown code, a failed fetch, anything else", () => {
    const page = new ApiError({ status: 502, code: 'unexpected_response', message: 'HTTP 502' });
    expect(describeError(page)).toEqual({ ...SERVER_TROUBLE, code: 'unexpected_response' });
    expect(describeError({ code: 'from_a_newer_server', status: 503 })).toEqual({
      ...SERVER_TROUBLE,
      code: 'from_a_newer_server',
    });
    expect(describeError(new TypeError('Failed to fetch')).code).toBe('network_error');
    expect(describeError(new Error('boom'))).toEqual({ ...GENERIC, code: 'unknown' });
    expect(describeError(undefined)).toEqual({ ...GENERIC, code: 'unknown' });
  });
});
