/**
 * The incremental benchmark's figures, its goals as ratios to baselines measured in the
 * same run, and the printed table.
 * @module
 */
import type { Measure, OurBackup, ResticBackup } from './runners.ts';

/** One simulated day after the first backup. */
export interface Day {
  day: number;
  /** Pages differing from the previous day's checkpointed copy. */
  changedPages: number;
  /** changedPages × page size: the least a page-level backup can send. */
  pageLimit: number;
  ours: OurBackup;
  restic: ResticBackup;
}

/** Everything one run measured. */
export interface Figures {
  header: string;
  /** The 1-minute load average at the start and the end (the machines are shared). */
  load: [number, number];
  mb: number;
  dbBytes: number;
  pages: number;
  /** The backups of day 0, which start the chain and restic's repository. */
  first: { ours: OurBackup; restic: ResticBackup };
  days: Day[];
  /**
   * First backups of the last day's data, by new users and into new restic repositories,
   * alternating (the first-backup figure: medians).
   */
  firsts: { ours: OurBackup[]; restic: ResticBackup[] };
  /** Our restores of each slot (the day it holds), restic's of its latest snapshot. */
  restore: { ours: { slot: number; day: number; runs: Measure[] }[]; restic: Measure[] };
  /** One full compressed backup of the last day's data (a new user's first backup). */
  fullBackup: number;
  /** restic's repository bytes after the last day. */
  resticRepo: number;
  /** The opt-in 1 GiB case: peak RSS of each of our commands. */
  big?: { mb: number; backupFirst: Measure; backupDaily: Measure; restore: Measure };
}

/** A goal: a ratio, its bound, and whether it was met. */
export interface Goal {
  name: string;
  ratio: number | null;
  /** The ratio must be ≤ this (< for RSS, given in MiB). */
  bound: number;
  unit: 'x' | 'MiB';
  pass: boolean | null;
  detail: string;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const max = (xs: number[]): number => Math.max(...xs);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
const x = (r: number) => `${r.toFixed(3)}x`;

/**
 * The goals. Byte goals must hold on every day (the worst day is the figure): a phone's
 * background window has to fit each one. Time goals take the median over days, since the
 * machines here are shared and one noisy second is not the design's doing.
 */
export function goals(f: Figures): Goal[] {
  const sentPerLimit = f.days.map((d) => d.ours.bytes / d.pageLimit);
  const sentPerRestic = f.days.map((d) => d.ours.bytes / Math.max(1, d.restic.added));
  const dailyTime = f.days.map((d) => d.ours.seconds / d.restic.seconds);
  const dailyCpu = f.days.map((d) => d.ours.cpuSeconds / d.restic.cpuSeconds);
  const secs = (ms: Measure[]) => median(ms.map((m) => m.seconds));
  const cpu = (ms: Measure[]) => median(ms.map((m) => m.cpuSeconds));
  const slots = f.restore.ours.map((r) => ({ ...r, seconds: secs(r.runs) }));
  const slowest = slots.reduce((a, b) => (b.seconds > a.seconds ? b : a));
  const resticRestore = secs(f.restore.restic);
  const firstOurs = secs(f.firsts.ours);
  const firstRestic = secs(f.firsts.restic);
  const stored = f.days.at(-1)?.ours.stored ?? f.first.ours.stored;
  const out: Goal[] = [
    {
      name: 'daily bytes sent / page limit',
      ratio: max(sentPerLimit),
      bound: 2,
      unit: 'x',
      pass: null,
      detail: `worst of ${f.days.length} days; median ${x(median(sentPerLimit))}`,
    },
    {
      name: "daily bytes sent / restic's added",
      ratio: max(sentPerRestic),
      bound: 0.1,
      unit: 'x',
      pass: null,
      detail: `worst day; median ${x(median(sentPerRestic))}`,
    },
    {
      name: "daily backup time / restic's",
      ratio: median(dailyTime),
      bound: 0.5,
      unit: 'x',
      pass: null,
      detail: `median of ${f.days.length} days; worst ${x(max(dailyTime))}; CPU (user+sys) ${x(median(dailyCpu))} median`,
    },
    {
      name: "first backup time / restic's",
      ratio: firstOurs / firstRestic,
      bound: 1,
      unit: 'x',
      pass: null,
      detail: `medians of ${f.firsts.ours.length}: ${firstOurs.toFixed(2)} s / ${firstRestic.toFixed(2)} s; CPU ${cpu(f.firsts.ours).toFixed(2)} s / ${cpu(f.firsts.restic).toFixed(2)} s`,
    },
    {
      name: "restore time (slower slot) / restic's",
      ratio: slowest.seconds / resticRestore,
      bound: 1,
      unit: 'x',
      pass: null,
      detail: `medians of ${slowest.runs.length}: slot ${slowest.slot} (day ${slowest.day}) ${slowest.seconds.toFixed(2)} s / ${resticRestore.toFixed(2)} s; CPU ${cpu(slowest.runs).toFixed(2)} s / ${cpu(f.restore.restic).toFixed(2)} s`,
    },
    {
      name: `stored bytes after ${f.days.length} days / one full backup`,
      ratio: stored / f.fullBackup,
      bound: 1.5,
      unit: 'x',
      pass: null,
      detail: `${mib(stored)} / ${mib(f.fullBackup)}; worst day ${x(max(f.days.map((d) => d.ours.stored)) / f.fullBackup)}`,
    },
  ];
  const big = f.big;
  const rss = big
    ? max([big.backupFirst.rssMib, big.backupDaily.rssMib, big.restore.rssMib])
    : null;
  out.push({
    name: `peak RSS, ${big ? big.mb : 1024} MiB backup and restore`,
    ratio: rss,
    bound: 128,
    unit: 'MiB',
    pass: null,
    detail: big
      ? `first backup ${big.backupFirst.rssMib.toFixed(1)}, daily ${big.backupDaily.rssMib.toFixed(1)}, restore ${big.restore.rssMib.toFixed(1)} MiB`
      : 'not run (set BENCH_BIG_MB=1024)',
  });
  for (const g of out) {
    if (g.ratio === null || Number.isNaN(g.ratio)) continue;
    g.pass = g.unit === 'MiB' ? g.ratio < g.bound : g.ratio <= g.bound;
  }
  return out;
}

const row = (cells: string[], widths: number[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');

/** The report, as lines of text. */
export function formatReport(f: Figures, gs: Goal[]): string[] {
  const lines = [
    f.header,
    `load average (1 min) ${f.load[0].toFixed(1)} at the start, ${f.load[1].toFixed(1)} at the end`,
    '',
  ];
  lines.push(
    `database ${mib(f.dbBytes)} (${f.pages} pages of 4 KiB); one full compressed backup of the last day: ${mib(f.fullBackup)}`,
  );
  // Wall seconds, then CPU seconds (user + system) in parentheses.
  const w = [6, 9, 10, 13, 11, 13, 11, 8];
  const t = (m: Measure) => `${m.seconds.toFixed(2)} (${m.cpuSeconds.toFixed(2)})`;
  lines.push(
    row(
      [
        'day',
        'changed',
        'page lim',
        'ours s (cpu)',
        'ours sent',
        'restic (cpu)',
        'restic add',
        'stored',
      ],
      w,
    ),
  );
  const o = f.first;
  lines.push(
    row(
      [
        'first',
        '',
        '',
        t(o.ours),
        mib(o.ours.bytes),
        t(o.restic),
        mib(o.restic.added),
        mib(o.ours.stored),
      ],
      w,
    ),
  );
  for (const d of f.days)
    lines.push(
      row(
        [
          String(d.day),
          String(d.changedPages),
          mib(d.pageLimit),
          t(d.ours),
          mib(d.ours.bytes),
          t(d.restic),
          mib(d.restic.added),
          mib(d.ours.stored),
        ],
        w,
      ),
    );
  lines.push('');
  const runs = (ms: Measure[]) =>
    `${ms.map((m) => m.seconds.toFixed(2)).join(', ')} s; CPU ${ms.map((m) => m.cpuSeconds.toFixed(2)).join(', ')} s; peak ${max(ms.map((m) => m.rssMib)).toFixed(0)} MiB`;
  lines.push(`first backup of the last day, new user: ${runs(f.firsts.ours)}`);
  lines.push(`restic first backup, new repository:    ${runs(f.firsts.restic)}`);
  for (const r of f.restore.ours)
    lines.push(`restore slot ${r.slot} (day ${r.day}): ${runs(r.runs)}`);
  lines.push(`restic restore latest: ${runs(f.restore.restic)}`);
  lines.push(`restic repository after ${f.days.length} days: ${mib(f.resticRepo)} (never pruned)`);
  lines.push('', 'goal                                          figure      bound   verdict');
  for (const g of gs) {
    const fig =
      g.ratio === null ? '—' : g.unit === 'MiB' ? `${g.ratio.toFixed(1)} MiB` : x(g.ratio);
    const bound = g.unit === 'MiB' ? `< ${g.bound} MiB` : `≤ ${g.bound}x`;
    const verdict = g.pass === null ? 'NOT RUN' : g.pass ? 'PASS' : 'FAIL';
    lines.push(
      `${g.name.padEnd(44)}  ${fig.padStart(10)}  ${bound.padStart(10)}  ${verdict}  (${g.detail})`,
    );
  }
  return lines;
}
