/**
 * How a configuration value is read from the environment (docs/OPERATIONS.md
 * "Configuration reference"): sizes, durations and integers, each checked against its
 * range, every bad value recorded as one line for `ConfigError` and replaced by its
 * default so that all problems are reported at once.
 * @module
 */

/** Looks a variable up: trimmed, undefined when unset or blank. */
export type RawEnv = (name: string) => string | undefined;

const MIB = 1024 * 1024;
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: MIB,
  gib: 1024 * MIB,
};
const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses a byte size: a plain integer, or a number with a unit (`B`, `KB`, `MB`, `GB`
 * decimal; `KiB`, `MiB`, `GiB` binary), case-insensitive.
 *
 * @param text - e.g. `"52428800"`, `"50MiB"`, `"1.5 GB"`
 * @returns the size in bytes, or null when `text` is not a size
 * @example
 * ```ts
 * parseSize('50MiB'); // 52428800
 * ```
 */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = SIZE_UNITS[m?.[2]?.toLowerCase() ?? 'x'];
  if (!m || unit === undefined) return null;
  const n = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Parses a duration: plain seconds, or an integer with `s`, `m`, `h` or `d`.
 *
 * @param text - e.g. `"900"`, `"15m"`, `"24h"`
 * @returns whole seconds, or null when `text` is not a duration
 * @example
 * ```ts
 * parseDuration('24h'); // 86400
 * ```
 */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(text);
  const unit = DURATION_UNITS[m?.[2]?.toLowerCase() ?? 'x'];
  if (!m || unit === undefined) return null;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : null;
}

/** Typed readers over one environment; each bad value adds a line to `problems`. */
export interface EnvReader {
  raw: RawEnv;
  /** Adds one problem line. */
  problem(line: string): void;
  /**
   * A whole number from `min` to `max`; `must` words the problem (default "an integer
   * from MIN to MAX"). `text` overrides the variable (a CLI flag named `name`).
   */
  int(name: string, def: number, min: number, max: number, must?: string, text?: string): number;
  /** Seconds (or e.g. `15m`, `24h`) from `min` to `max`. */
  duration(name: string, def: number, min: number, max: number): number;
  /** Bytes (or e.g. `50MiB`) that pass `check`; `must` words the problem. */
  size(name: string, def: number, check: (n: number) => boolean, must: string): number;
}

/**
 * Readers over `raw` that collect problems in `problems`.
 *
 * @param raw - looks a variable up (trimmed; undefined when unset or blank)
 * @param problems - collects one line per invalid value
 * @returns the readers
 * @example
 * ```ts
 * const env = envReader((n) => vars[n], problems);
 * const ttl = env.duration('TOKEN_TTL', 86_400, 60, 30 * 86_400);
 * ```
 */
export function envReader(raw: RawEnv, problems: string[]): EnvReader {
  const problem = (line: string): void => {
    problems.push(line);
  };
  return {
    raw,
    problem,
    int(name, def, min, max, must = `an integer from ${min} to ${max}`, text = raw(name)) {
      if (text === undefined) return def;
      const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        problem(`${name}=${JSON.stringify(text)}: must be ${must}`);
        return def;
      }
      return n;
    },
    duration(name, def, min, max) {
      const text = raw(name);
      if (text === undefined) return def;
      const n = parseDuration(text);
      if (n === null || n < min || n > max) {
        problem(
          `${name}=${JSON.stringify(text)}: must be a duration from ${min}s to ${max}s (seconds, or e.g. 15m, 24h)`,
        );
        return def;
      }
      return n;
    },
    size(name, def, check, must) {
      const text = raw(name);
      if (text === undefined) return def;
      const n = parseSize(text);
      if (n === null || !check(n)) {
        problem(`${name}=${JSON.stringify(text)}: must be ${must}`);
        return def;
      }
      return n;
    },
  };
}

/**
 * An http(s) base URL without query or fragment, trailing slashes removed.
 *
 * @returns the normalised URL, or null when `text` is not one
 */
export function httpBaseUrl(text: string): string | null {
  try {
    const u = new URL(text);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search || u.hash) return null;
    return u.href.replace(/\/+$/, '');
  } catch {
    return null;
  }
}
