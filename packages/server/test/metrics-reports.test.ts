/**
 * Outcomes clients report at `POST /v0/backup/report` are counted by kind (backup,
 * restore, verify), status and error code (docs/OPERATIONS.md "Metrics"): the error label
 * takes only codes the clients and the API define, so a client cannot grow the metric's
 * label set with free text. The real server on SQLite; the counts read from /metrics.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, login } from './helpers/client.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let srv: TestServer;
let token: string;
beforeAll(async () => {
  srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
  token = await login(srv.url);
});
afterAll(() => srv?.close());

const report = (body: unknown) => call(`${srv.url}/v0/backup/report`, { body, token });

async function sample(labels: string): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`noah_client_reports_total{${labels}} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

it('accepts verification outcomes and counts them apart', async () => {
  expect((await report({ kind: 'verify', status: 'success' })).status).toBe(200);
  const r = await report({ kind: 'verify', status: 'failure', error: 'decryption_failed' });
  expect(r.status).toBe(200);
  expect(await sample('kind="verify",status="success"')).toBe(1);
  expect(await sample('kind="verify",status="failure",error="decryption_failed"')).toBe(1);
});

it('counts failures by error code; unknown text and a missing code have labels of their own', async () => {
  await report({ kind: 'restore', status: 'failure', error: 'integrity_error' });
  await report({ kind: 'restore', status: 'failure', error: 'integrity_error' });
  await report({ kind: 'backup', status: 'failure', error: 'storage_unavailable' });
  await report({ kind: 'backup', status: 'failure', error: 'my seed is abandon abandon…' });
  await report({ kind: 'backup', status: 'failure', error: 'made_up_code_1' });
  await report({ kind: 'backup', status: 'failure' });
  await report({ kind: 'restore', status: 'success', error: 'ignored on success' });
  expect(await sample('kind="restore",status="failure",error="integrity_error"')).toBe(2);
  expect(await sample('kind="backup",status="failure",error="storage_unavailable"')).toBe(1);
  expect(await sample('kind="backup",status="failure",error="other"')).toBe(2);
  expect(await sample('kind="backup",status="failure",error="unspecified"')).toBe(1);
  expect(await sample('kind="restore",status="success"')).toBe(1);
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  expect(text).not.toContain('abandon');
  expect(text).not.toContain('made_up_code_1');
});

it('refuses kinds it does not know', async () => {
  const r = await report({ kind: 'scrub', status: 'success' });
  expect(r.status).toBe(400);
  expect(r.body).toMatchObject({ code: 'bad_request' });
});
