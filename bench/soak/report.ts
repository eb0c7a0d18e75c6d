/**
 * The soak's report: load held, latency, errors by code, the faults and what followed
 * them, and the verdict with every violation.
 * @module
 */
import type { DeviceStats, FinalResult, Violation } from './device.ts';
import type { LogSummary } from './infra.ts';
import type { ProxyLog } from './proxy.ts';
import {
  formatLatency,
  formatTally,
  percentile,
  rateWindows,
  type Tally,
  total,
  window,
} from './stats.ts';

/** One fault the orchestrator caused. */
export interface FaultEvent {
  atSec: number;
  what: string;
}

/** Everything a report is made of. */
export interface SoakFigures {
  header: string;
  cores: number;
  seconds: number;
  rampSec: number;
  api: ProxyLog;
  bucket: ProxyLog & { cuts: Tally };
  devices: DeviceStats;
  /** The 1-minute load average every 10 s of the load; CPU of the proxies and S3 front. */
  machine: { load: number[]; infraCpuMs: number };
  faults: FaultEvent[];
  logs: ({ name: string } & LogSummary)[];
  sweep: Record<string, number>;
  objects: number;
  orphans: string[];
  pendingLeft: number;
  finals: FinalResult[];
  deviceCount: number;
  violations: Violation[];
}

const f1 = (x: number) => x.toFixed(1);

/** Whether the run kept every promise. */
export function passed(r: SoakFigures): boolean {
  const listed = r.finals.reduce((a, b) => a + b.listed, 0);
  return (
    r.violations.length === 0 &&
    r.orphans.length === 0 &&
    r.objects === listed &&
    r.finals.length === r.deviceCount
  );
}

/** The report, as lines of text. */
export function formatReport(r: SoakFigures): string[] {
  const out: string[] = [r.header, ''];
  const endMs = r.seconds * 1000;
  const held = rateWindows(window(r.api.samples, r.rampSec * 1000, endMs), endMs, 10).slice(
    Math.ceil(r.rampSec / 10),
  );
  const inLoad = window(r.api.samples, 0, endMs);
  out.push(
    `API through the balancer: ${inLoad.length} requests in ${r.seconds} s, ${f1(inLoad.length / r.seconds)} req/s; ` +
      `after the ${r.rampSec} s ramp, 10-s windows: min ${f1(Math.min(...held))}, median ${f1(percentile(held, 50))} req/s`,
    `  latency (balancer, request in to answer out): ${formatLatency(r.api.samples.map((s) => s.ms))}`,
    `  answers: ${formatTally(r.api.statuses)}`,
    `  errors by code: ${formatTally(r.api.errors)}`,
    `Bucket (through the fault injector): ${r.bucket.samples.length} requests, ${f1(window(r.bucket.samples, 0, endMs).length / r.seconds)} req/s; ${formatLatency(r.bucket.samples.map((s) => s.ms))}`,
    `  answers: ${formatTally(r.bucket.statuses)}`,
    `  cut on purpose: ${formatTally(r.bucket.cuts)}`,
    `  errors by code: ${formatTally(r.bucket.errors)}`,
    '',
    'Device operations (outcome by code; duration):',
  );
  for (const [op, ds] of Object.entries(r.devices.durations)) {
    const outcomes: Tally = {};
    for (const [k, v] of Object.entries(r.devices.outcomes))
      if (k.startsWith(`${op} `)) outcomes[k.slice(op.length + 1)] = v;
    out.push(`  ${op}: ${formatTally(outcomes)}; ${formatLatency(ds)}`);
  }
  const ops = Math.max(1, total(r.devices.outcomes));
  out.push(
    `  retried by the SDK: ${formatTally(r.devices.retries)}`,
    `  noted: ${formatTally(r.devices.notes)}`,
    `Machine: load average (1 min) during the load min ${f1(Math.min(...r.machine.load))}, median ${f1(percentile(r.machine.load, 50))}, max ${f1(Math.max(...r.machine.load))} on ${r.cores} cores; ` +
      `CPU used by the device workers ${f1(r.devices.cpuMs / 1000)} s (${f1(r.devices.cpuMs / ops)} ms per operation), by the balancer, fault injector and S3 front ${f1(r.machine.infraCpuMs / 1000)} s`,
    '',
    'Per minute (balancer):   req/s    p50 ms    p99 ms   failed',
  );
  for (let m = 0; m * 60 < r.seconds; m++) {
    const w = window(r.api.samples, m * 60_000, Math.min(endMs, (m + 1) * 60_000));
    const span = Math.min(60, r.seconds - m * 60);
    const ms = w.map((s) => s.ms);
    out.push(
      `  ${String(m + 1).padStart(3)}${f1(w.length / span).padStart(18)}${f1(percentile(ms, 50)).padStart(10)}${f1(percentile(ms, 99)).padStart(10)}${String(w.filter((s) => s.failed).length).padStart(9)}`,
    );
  }
  out.push('', 'Faults:');
  for (const e of r.faults) out.push(`  ${f1(e.atSec).padStart(6)} s  ${e.what}`);
  out.push('', 'Server logs:');
  for (const l of r.logs)
    out.push(
      `  ${l.name}: errors ${total(l.errors)} (${formatTally(l.errors)}); warnings ${total(l.warnings)} (${formatTally(l.warnings)}); its sweeper removed: ${formatTally(l.swept)}`,
    );
  const listed = r.finals.reduce((a, b) => a + b.listed, 0);
  out.push(
    '',
    `Sweeper (after the load): ${formatTally(r.sweep)}`,
    `Bucket after the sweep: ${r.objects} objects; backups the devices list: ${listed}; ` +
      `objects no backup references: ${r.orphans.length}${r.orphans.length ? ` (${r.orphans.slice(0, 5).join(', ')})` : ''}; pending uploads left: ${r.pendingLeft}`,
    `Devices checked as new phones: ${r.finals.length} of ${r.deviceCount}; ` +
      `with an acknowledged backup: ${r.finals.filter((x) => x.hadAck).length}; ` +
      `newest backup = last acknowledged: ${r.finals.filter((x) => x.newestIsLastAck).length}, ` +
      `= a later one whose acknowledgement was lost: ${r.finals.filter((x) => x.hadAck && !x.newestIsLastAck).length}`,
  );
  const byKind: Tally = {};
  for (const v of r.violations) byKind[v.kind] = (byKind[v.kind] ?? 0) + 1;
  out.push(`Violations: ${formatTally(byKind)}`);
  for (const v of r.violations.slice(0, 50))
    out.push(`  device ${v.device} ${v.kind}: ${v.detail}`);
  out.push('', passed(r) ? 'PASS' : 'FAIL');
  return out;
}
