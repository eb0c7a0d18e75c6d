/**
 * The shared code's format vectors under Hermes (docs/REACT-NATIVE.md): every vector of
 * testdata/ (v2, seed-v0, noah-v1, detect, incremental) reaches its recorded outcome,
 * re-encrypts to identical bytes and restores, in the Hermes VM, with core's
 * pure-JavaScript platform, after React Native's Babel transforms. Sabotaged copies of a
 * few vectors (a byte changed, the record's hash updated to match) must fail in the same
 * run: the check can fail. This proves Hermes compatibility, not speed.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleRunner, type RunOutput, runInHermes, runInNode } from './hermes/harness.ts';
import type { HostVector, VectorRecord } from './hermes/protocol.ts';

const TESTDATA = join(import.meta.dirname, '..', '..', '..', 'testdata');
const DIRS = ['v2', 'seed-v0', 'noah-v1', 'detect', 'incremental'];

function load(): HostVector[] {
  const out: HostVector[] = [];
  for (const dir of DIRS)
    for (const f of readdirSync(join(TESTDATA, dir)).sort()) {
      if (!f.endsWith('.json')) continue;
      const record = JSON.parse(readFileSync(join(TESTDATA, dir, f), 'utf8')) as VectorRecord & {
        blob_file: string;
      };
      const blob = readFileSync(join(TESTDATA, dir, record.blob_file)).toString('base64');
      out.push({ id: `${dir}/${record.name}`, record, blob });
    }
  return out;
}

/** A copy of vector `name` with byte `at` of its blob changed and the record's hash updated. */
function sabotage(vectors: HostVector[], name: string, at: number): HostVector {
  const v = vectors.find((x) => x.record.name === name);
  if (!v) throw new Error(`no vector ${name}`);
  const blob = Buffer.from(v.blob, 'base64');
  blob[at < 0 ? blob.length + at : at]! ^= 0x01;
  const sha = createHash('sha256').update(blob).digest('hex');
  return {
    id: `sabotaged/${name}`,
    record: { ...v.record, blob_sha256: sha },
    blob: blob.toString('base64'),
  };
}

const VECTORS = load();
/** One per reader: v2, both legacy formats (noah-v1 through the host's PBKDF2), a manifest. */
const SABOTAGED = [
  sabotage(VECTORS, 'v2-zstd-262145', -20),
  sabotage(VECTORS, 'seed-v0-4096', 40),
  sabotage(VECTORS, 'noah-v1-4096', 60),
  sabotage(VECTORS, 'inc-manifest-1', -3),
];

describe('format vectors under Hermes', () => {
  let node: RunOutput;
  let table: Record<string, string>;
  let hermes: RunOutput & { status: number | null; stderr: string };
  const dir = mkdtempSync(join(tmpdir(), 'noah-hermes-'));

  beforeAll(async () => {
    const all = [...VECTORS, ...SABOTAGED];
    const bundle = await bundleRunner();
    // Only the legacy readers derive slow keys (noah-v1, and seed-v0 texts whose first
    // byte makes them try noah-v1 first): the Node pass over those learns the inputs.
    const slow = all.filter((v) => ['noah-v1', 'seed-v0'].includes(v.record.format));
    ({ out: node, table } = await runInNode(bundle, slow));
    hermes = await runInHermes(bundle, all, table, join(dir, 'runner.js'));
    return () => rmSync(dir, { recursive: true, force: true });
  }, 900_000);

  it('the Node pass derived the noah-v1 keys (the legacy vectors pass there too)', () => {
    expect(node.crash).toBeUndefined();
    const legacy = VECTORS.filter((v) => ['noah-v1', 'seed-v0'].includes(v.record.format));
    expect(legacy.filter((v) => !node.results.get(v.id)?.ok).map((v) => v.id)).toEqual([]);
    // noah-v1's PBKDF2 (FORMAT.md §4): 600,000 rounds, the only inputs the host derives.
    expect(Object.keys(table).length).toBeGreaterThan(0);
    for (const key of Object.keys(table)) expect(key.split(':')[2]).toBe('600000');
  });

  it('Hermes runs every vector to its recorded outcome', () => {
    expect(hermes.stderr).toBe('');
    expect(hermes.crash).toBeUndefined();
    expect(hermes.status).toBe(0);
    expect(hermes.done).toBe(VECTORS.length + SABOTAGED.length);
    const failed = VECTORS.map((v) => [v.id, hermes.results.get(v.id)] as const)
      .filter(([, r]) => !r?.ok)
      .map(([id, r]) => `${id}: ${r?.why ?? 'no result'}`);
    expect(failed).toEqual([]);
    // Every reader ran: the corpus has each kind of vector.
    for (const dir of DIRS) expect(VECTORS.some((v) => v.id.startsWith(`${dir}/`))).toBe(true);
  });

  it('Hermes fails every sabotaged vector', () => {
    for (const v of SABOTAGED) expect(hermes.results.get(v.id)?.ok, v.id).toBe(false);
  });
});
