/**
 * What deploy/ ships for monitoring (docs/OPERATIONS.md "Alerts", "Dashboard"): the alert
 * rules pass `promtool check rules` and their unit tests (`promtool test rules`); every
 * expression of the Grafana dashboard is valid PromQL (promtool parses them as recording
 * rules); and every metric either of them names is one a real server exports, read from
 * its /metrics. promtool comes from Debian's `prometheus` package (.ci/run installs it).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ALERTS = join(ROOT, 'deploy', 'prometheus', 'alerts.yml');
const ALERT_TESTS = join(ROOT, 'deploy', 'prometheus', 'alerts.test.yml');
const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'noah-backup.json');

interface Run {
  code: number;
  out: string;
}

function promtool(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', args, { cwd: dirname(ALERTS) }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
      if (e?.code === 'ENOENT')
        return reject(new Error("promtool not found: install Debian's prometheus package"));
      resolve({ code: typeof e?.code === 'number' ? e.code : e ? 1 : 0, out: stdout + stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: { expr: string; refId: string }[];
  panels?: Panel[];
}

async function dashboardPanels(): Promise<Panel[]> {
  const dash = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: Panel[] };
  return dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Grafana's interval variables, as Grafana would substitute them. */
const substitute = (expr: string) => expr.replaceAll(/\$__(rate_interval|interval|range)/g, '5m');

describe('alert rules', () => {
  it('pass promtool check rules', async () => {
    const r = await promtool(['check', 'rules', ALERTS]);
    expect(r.out).toMatch(/SUCCESS: 6 rules found/);
    expect(r.code, r.out).toBe(0);
  });

  it('pass their unit tests (promtool test rules)', async () => {
    const r = await promtool(['test', 'rules', ALERT_TESTS]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS/);
  });

  it('name every alert the operations guide lists', async () => {
    const text = await readFile(ALERTS, 'utf8');
    const names = [...text.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    const guide = await readFile(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
    expect(names).toHaveLength(6);
    for (const n of names) expect(guide, n).toContain(`\`${n}\``);
  });
});

describe('dashboard', () => {
  it('is valid PromQL throughout, on one data source variable', async () => {
    const panels = await dashboardPanels();
    const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ p, t })));
    expect(queries.length).toBeGreaterThan(20);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax.
    for (const { p } of queries) expect(p.datasource?.uid, p.title).toBe('${datasource}');
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: queries.map(({ p, t }) => ({
            record: `noah_dashboard:panel_${p.id}_${t.refId}`,
            expr: substitute(t.expr),
          })),
        },
      ],
    };
    const dir = await mkdtemp(join(tmpdir(), 'noah-dash-'));
    try {
      const file = join(dir, 'dashboard-rules.yml');
      // JSON is YAML: promtool parses every expression as it would a rule's.
      await writeFile(file, JSON.stringify(rules, null, 1));
      const r = await promtool(['check', 'rules', file]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain(`SUCCESS: ${queries.length} rules found`);
      // And promtool does refuse a broken expression.
      rules.groups[0]!.rules.push({ record: 'noah_dashboard:broken', expr: 'sum(rate(x[5m])' });
      await writeFile(file, JSON.stringify(rules));
      expect((await promtool(['check', 'rules', file])).code).not.toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('metric names', () => {
  let srv: TestServer;
  let exposition: string;
  beforeAll(async () => {
    srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
    exposition = await (await fetch(`${srv.url}/metrics`)).text();
  });
  afterAll(() => srv?.close());

  /** Metric families by name and type, from the `# TYPE` lines. */
  const families = () =>
    new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const));
  const exported = (name: string) => {
    const types = families();
    if (types.has(name)) return true;
    const m = /^(.*)_(bucket|sum|count)$/.exec(name);
    return m !== null && ['histogram', 'summary'].includes(types.get(m[1]!) ?? '');
  };

  it('every noah_ metric in the alerts and the dashboard is exported by the server', async () => {
    const used = new Set<string>();
    for (const file of [ALERTS, DASHBOARD])
      for (const m of (await readFile(file, 'utf8')).matchAll(/\bnoah_[a-z0-9_]+\b/g))
        used.add(m[0]);
    // The dashboard's recording-rule names above are made up by this test, not used.
    for (const name of [
      'noah_client_reports_total',
      'noah_push_messages_total',
      'noah_scrub_mismatches_total',
      'noah_user_stored_bytes_bucket',
      'noah_push_last_job_start_seconds',
    ])
      expect(used, name).toContain(name);
    expect(exported('noah_not_a_metric_total')).toBe(false);
    expect(exported('noah_users_bucket')).toBe(false); // a gauge has no buckets
    const missing = [...used].filter((n) => !exported(n));
    expect(missing).toEqual([]);
  });

  it('the exposition passes promtool check metrics (our metrics)', async () => {
    const r = await promtool(['check', 'metrics'], exposition);
    // prom-client's own nodejs_*_total gauges draw lint remarks; ours must draw none.
    const ours = r.out.split('\n').filter((l) => l.startsWith('noah_'));
    expect(ours).toEqual([]);
    expect(r.out).not.toMatch(/error while linting|text format parsing error/);
  });
});
