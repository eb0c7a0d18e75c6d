/**
 * A device worker: a child process of the soak running a share of the simulated
 * devices as async tasks in one event loop (their SQLite, compression and encryption
 * must not share the event loop of the proxies that time the requests). Driven by the
 * orchestrator over IPC:
 *
 *   init {ids, root, apiUrl, thinkMs, rampMs} → ready
 *   run → devices back up first, then pick an operation after each think time
 *   stop {graceMs} → no new operations; those in flight get graceMs, then are aborted → stopped {stats}
 *   final → every device's final check → final {results}
 *
 * Violations are sent as they happen: {type: 'violation', v}.
 * @module
 */
import { setMaxListeners } from 'node:events';
import { type Device, type FinalResult, type Operation, createDevice, newStats } from './device.ts';
import { sleep as wait } from '@noah-backup/core/wait';

interface Init {
  type: 'init';
  ids: number[];
  root: string;
  apiUrl: string;
  thinkMs: number;
  rampMs: number;
}

type Message = Init | { type: 'run' } | { type: 'stop'; graceMs: number } | { type: 'final' };

/** Operation mix after the first backup: mostly backups, as phones do. */
const MIX: [Operation, number][] = [
  ['backup', 0.55],
  ['restore', 0.15],
  ['verify', 0.15],
  ['fresh-restore', 0.15],
];

function pick(): Operation {
  let r = Math.random();
  for (const [op, w] of MIX) {
    r -= w;
    if (r < 0) return op;
  }
  return 'backup';
}

const send = (m: unknown) => process.send?.(m);
const stats = newStats();
const devices: Device[] = [];
const stopSleeping = new AbortController();
const abortOps = new AbortController();
let init: Init | undefined;
let loops: Promise<void>[] = [];
let cpuAtStart: NodeJS.CpuUsage | undefined;
let done = 0;

// Every device listens on these two signals.
setMaxListeners(0, stopSleeping.signal, abortOps.signal);

/** Waits, cut short when the run stops (core's sleep, so one meaning everywhere). */
async function sleep(ms: number): Promise<void> {
  await wait(ms, stopSleeping.signal);
}

async function loop(d: Device, cfg: Init): Promise<void> {
  await sleep(Math.random() * cfg.rampMs);
  let op: Operation = 'backup';
  while (!stopSleeping.signal.aborted) {
    await d.run(op, abortOps.signal);
    done++;
    await sleep(cfg.thinkMs * (0.5 + Math.random()));
    op = pick();
  }
}

async function finalChecks(): Promise<FinalResult[]> {
  const results: FinalResult[] = [];
  const queue = [...devices];
  const one = async () => {
    for (let d = queue.shift(); d; d = queue.shift()) {
      try {
        results.push(await d.finalCheck());
      } catch (err) {
        send({
          type: 'violation',
          v: { device: d.id, kind: 'unverified', detail: `final check failed: ${String(err)}` },
        });
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, one));
  return results;
}

process.on('message', (m: Message) => {
  const handle = async () => {
    if (m.type === 'init') {
      init = m;
      for (const id of m.ids)
        devices.push(
          await createDevice({ id, root: m.root, apiUrl: m.apiUrl }, stats, (v) =>
            send({ type: 'violation', v }),
          ),
        );
      send({ type: 'ready' });
    } else if (m.type === 'run') {
      const cfg = init!;
      cpuAtStart = process.cpuUsage();
      loops = devices.map((d) => loop(d, cfg));
      setInterval(() => send({ type: 'progress', done }), 5000).unref();
    } else if (m.type === 'stop') {
      stopSleeping.abort();
      const grace = setTimeout(() => abortOps.abort(), m.graceMs);
      await Promise.all(loops);
      clearTimeout(grace);
      const cpu = process.cpuUsage(cpuAtStart);
      stats.cpuMs = (cpu.user + cpu.system) / 1000;
      send({ type: 'stopped', stats });
    } else if (m.type === 'final') {
      send({ type: 'final', results: await finalChecks() });
      for (const d of devices) d.close();
    }
  };
  handle().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});
process.once('disconnect', () => process.exit(0));
