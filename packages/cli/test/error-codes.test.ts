/**
 * The CLI's exit codes and hints derive from the error catalog (core error-catalog.ts):
 * every code has the exit code of its class, each class's exit code is in the documented
 * table (EXIT_HELP), the exit codes the commands had before the catalog are kept (the
 * one change listed), docs/API.md "Client error codes" is the catalog as generated, and
 * the README gives each class its exit code.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiError } from '@noah-backup/client/errors';
import type { ErrorCode } from '@noah-backup/core/api';
import {
  type CatalogCode,
  ERROR_CATALOG,
  errorClass,
  isApiCode,
} from '@noah-backup/core/error-catalog';
import { NoahError } from '@noah-backup/core/errors';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG as SERVER_CATALOG } from '../../server/src/errors.ts';
import { BEGIN, END, renderErrorCodes } from '../../../scripts/error-codes.ts';
import { classify } from '../src/commands/classify.ts';
import { EXIT_OF_CLASS } from '../src/commands/cli-errors.ts';
import { EXIT_HELP } from '../src/commands/client-support.ts';
import { CRYPTO_EXIT_HELP, classifyCrypto } from '../src/commands/crypto-io.ts';

const SERVER = 'http://127.0.0.1:8080';

/** An error with `code` as a command meets it: an API code as the server answers it. */
function errorOf(code: CatalogCode): NoahError {
  if (!isApiCode(code)) return new NoahError(code, `a ${code} error`);
  const status = SERVER_CATALOG[code as ErrorCode].status;
  return new ApiError({ status, code, message: SERVER_CATALOG[code as ErrorCode].message });
}

/** The exit codes of EXIT_HELP-style text. */
const documented = (help: string) =>
  new Set([...help.matchAll(/^ {2}(\d+) /gm)].map((m) => Number(m[1])));

/**
 * The exit code each client command gave before the catalog, for each code it met then
 * (merged codes under their new name). The one change, listed: `backup_changed` was 1.
 */
const BEFORE: Partial<Record<CatalogCode, number>> = {
  bad_request: 1,
  unauthorized: 3,
  token_expired: 3,
  invalid_k1: 3,
  invalid_key: 3,
  invalid_signature: 3,
  forbidden: 3,
  backups_not_enabled: 1,
  not_found: 4,
  backup_not_found: 5,
  upload_not_found: 1,
  upload_incomplete: 1,
  size_mismatch: 1,
  conflict: 1,
  backup_too_large: 1,
  quota_exceeded: 1,
  payload_too_large: 1,
  unsupported_media_type: 1,
  range_not_satisfiable: 1,
  method_not_allowed: 1,
  signature_invalid: 1,
  url_expired: 1,
  rate_limited: 4,
  storage_unavailable: 4,
  not_ready: 4,
  internal: 4,
  not_a_backup: 6,
  unsupported_version: 6,
  unsupported_payload_kind: 6,
  malformed_manifest: 6,
  limit_exceeded: 6,
  decryption_failed: 3,
  invalid_mnemonic: 3,
  unsupported_compression: 1,
  network_error: 4,
  timeout: 4,
  stalled: 4,
  incomplete_transfer: 4,
  integrity_error: 6,
  aborted: 1,
  interrupted: 1,
  busy: 1, // the restore's; a backup said `usage` (2) for it
  backup_changed: 5, // was 1: the backup asked for is gone (replaced)
  rollback_confirmation_required: 7,
  foreign_wallet: 6, // as not_a_wallet_archive
  unexpected: 1,
  not_a_wallet: 2,
  corrupt_wallet_database: 6,
  integrity_check_failed: 6,
  unsafe_archive: 6,
  restore_conflict: 6,
  target_not_a_wallet: 2,
  invalid_data_dir: 2,
  insufficient_space: 1,
  state_corrupt: 1,
  lock_timeout: 1,
  target_not_empty: 2,
};

describe('exit codes from the error catalog', () => {
  it('gives every code the exit code of its class, and a hint or none on purpose', () => {
    for (const code of Object.keys(ERROR_CATALOG) as CatalogCode[]) {
      const { exit, hint } = classify(errorOf(code), SERVER);
      expect(exit, code).toBe(EXIT_OF_CLASS[errorClass(code)]);
      if (hint !== null) expect(hint, code).toMatch(/^[^\n]{10,}$/);
      expect(hint ?? '', code).not.toMatch(/undefined|null|\[object/);
    }
  });

  it('keeps the exit codes the commands had', () => {
    for (const [code, exit] of Object.entries(BEFORE))
      expect(classify(errorOf(code as CatalogCode), SERVER).exit, code).toBe(exit);
  });

  it('documents the exit code of every class in --help', () => {
    const help = documented(EXIT_HELP);
    for (const [cls, exit] of Object.entries(EXIT_OF_CLASS)) expect(help.has(exit), cls).toBe(true);
    const used = new Set(Object.values(EXIT_OF_CLASS));
    for (const exit of help)
      if (exit < 128 && exit !== 0) expect(used.has(exit), `${exit}`).toBe(true);
  });

  it('documents the exit codes the format commands give for the format codes', () => {
    const help = documented(CRYPTO_EXIT_HELP);
    for (const code of [
      'decryption_failed',
      'invalid_mnemonic',
      'not_a_backup',
      'unsupported_version',
      'unsupported_payload_kind',
      'malformed_manifest',
      'limit_exceeded',
      'unsupported_compression',
      'insufficient_space',
    ] as const) {
      const { exit, hint } = classifyCrypto(errorOf(code));
      expect(help.has(exit), code).toBe(true);
      expect(hint, code).toBeTruthy();
    }
  });

  it('a code a newer server sends: exit by its status, as before, and a hint to upgrade', () => {
    const newer = (status: number) =>
      new ApiError({
        status,
        code: 'unexpected_response',
        serverCode: 'a_code_from_the_future',
        message: 'something new',
      });
    expect(classify(newer(409), SERVER)).toMatchObject({
      exit: 1,
      hint: 'the server answered with an error code this noah-backup does not know: upgrade it',
    });
    expect(classify(newer(507), SERVER).exit).toBe(4);
  });
});

it('docs/API.md lists the catalog as scripts/error-codes.ts renders it', () => {
  const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/API.md'), 'utf8');
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  expect(start, 'the generated section is in docs/API.md').toBeGreaterThan(0);
  expect(
    doc.slice(start, end + END.length),
    'run `npx tsx scripts/error-codes.ts` to regenerate it',
  ).toBe(renderErrorCodes());
});

it('the README gives each class the exit code the CLI uses', () => {
  const readme = readFileSync(resolve(import.meta.dirname, '../../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Error codes'), readme.indexOf('## Benchmarks'));
  for (const [cls, exit] of Object.entries(EXIT_OF_CLASS)) {
    const named = new RegExp(`\`${cls}\`[^(]*\\(exit (\\d)\\)`).exec(section);
    expect(named?.[1], cls).toBe(String(exit));
  }
});
