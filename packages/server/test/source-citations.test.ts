/**
 * Source comments point into docs/ (docs/API.md, docs/FORMAT.md, docs/OPERATIONS.md,
 * docs/PUSH.md, docs/WALLET.md, README.md), never at an issue number or a document outside
 * the repository, which a reader of the code cannot open: not at a web page either (the
 * facts a comment relies on go into docs/). A URL the code calls is a string literal,
 * not a comment; in a comment, a URL quoted as code (`'https://…'`, `` `https://…` ``,
 * an example) is a value, not a citation, and reserved hosts (localhost, example.com)
 * cite nothing. A scan of every package's sources and tests, the React Native example,
 * the scripts and the benchmarks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SOURCE = /\.(ts|tsx|mts|mjs|js)$/;
const SKIP = new Set(['node_modules', 'dist', 'fixtures']);

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...files(path));
    else if (SOURCE.test(e.name)) out.push(path);
  }
  return out;
}

/** The comment text of a line: a comment line whole, or what follows a trailing `//`. */
function commentOf(line: string): string | null {
  const t = line.trim();
  if (/^(\/\/|\/\*|\*)/.test(t)) return t;
  return /(?:^|\s)\/\/\s(.*)$/.exec(line)?.[1] ?? null;
}

/** Hosts that name no document: loopback, and the names reserved for examples. */
const NO_DOCUMENT =
  /^(localhost|127\.0\.0\.1|\[::1\]|host|(.+\.)?example(\.(com|org|net))?|.+\.(test|invalid))(:\d+)?$/i;

/** A web address cited in a comment: `https://host/…`, or a bare `host.tld/…`. */
function citesOutsideUrl(line: string): boolean {
  const comment = commentOf(line);
  if (comment === null) return false;
  // Code quoted in the comment (a value, an example call) is not a citation.
  const prose = comment.replace(/`[^`]*`/g, '').replace(/'[^'\s]*'|"[^"\s]*"/g, '');
  const hosts = [
    ...[...prose.matchAll(/\bhttps?:\/\/([^\s/)'"`>,]+)/g)].map((m) => m[1]!.replace(/\.+$/, '')),
    ...[
      ...prose.matchAll(
        /(?<![\w.@/:])((?:[a-z0-9-]+\.)+(?:com|org|net|io|dev|sh|app|co|cloud|info))(?=[/\s,);:]|$)/gi,
      ),
    ].map((m) => m[1]!),
  ];
  return hosts.some((h) => !NO_DOCUMENT.test(h));
}

/** What a citation outside the repository looks like; `item N` only without a `§`. */
const FORBIDDEN: readonly { why: string; test: (line: string) => boolean }[] = [
  { why: 'an issue number', test: (l) => /\b[Ii]ssues? #?\d/.test(l) },
  { why: 'an issue number', test: (l) => /(^|[\s(])#\d+\b(?![-\w])/.test(l) },
  { why: 'an issue item', test: (l) => /\b[Ii]tems? \d/.test(l) && !/§\s?\d/.test(l) },
  {
    why: 'a design document outside the repository',
    test: (l) => /\b(DESIGN|STYLE)\.md\b/.test(l),
  },
  {
    why: 'a design document outside the repository',
    test: (l) => /\b(architecture|design) document\b|\bthe document's\b/i.test(l),
  },
  { why: 'a web page outside the repository', test: citesOutsideUrl },
];

/** Every line that breaks a rule, as `path:line: why: text`. */
function citations(paths: readonly string[]): string[] {
  const found: string[] = [];
  for (const path of paths) {
    readFileSync(path, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const rule of FORBIDDEN)
          if (rule.test(line))
            found.push(`${relative(ROOT, path)}:${i + 1}: ${rule.why}: ${line.trim()}`);
      });
  }
  return found;
}

describe('source comments cite docs/, not issues or outside documents', () => {
  const packages = readdirSync(join(ROOT, 'packages'));
  const dirs = [
    ...packages.flatMap((p) => ['src', 'test', 'bin'].map((d) => join(ROOT, 'packages', p, d))),
    join(ROOT, 'packages', 'react-native', 'example'),
    join(ROOT, 'packages', 'react-native', 'scripts'),
    join(ROOT, 'scripts'),
    join(ROOT, 'bench'),
  ];
  const all = dirs.flatMap((d) => {
    try {
      return files(d);
    } catch {
      return [];
    }
  });
  // This file names the patterns it looks for.
  const scanned = all.filter((f) => f !== fileURLToPath(import.meta.url));

  it('scans every package, the scripts and the benchmarks', () => {
    expect(packages).toEqual(expect.arrayContaining(['core', 'client', 'server', 'cli', 'web']));
    for (const p of ['core/src', 'client/src', 'server/src', 'cli/src', 'web/src', 'client/test'])
      expect(scanned.some((f) => f.includes(`/packages/${p}/`))).toBe(true);
    expect(scanned.some((f) => f.includes('/bench/'))).toBe(true);
    expect(scanned.some((f) => f.includes('/scripts/'))).toBe(true);
  });

  it('finds none', () => {
    expect(citations(scanned)).toEqual([]);
  });

  it('recognises each kind of citation, and leaves section references alone', () => {
    const lines = [
      ' * The sweeper (issue 3 item 3).',
      ' // see #12 for why',
      ' * (item 4 of the plan)',
      ' * Seams (DESIGN.md "Seams").',
      " * the architecture document's field names",
      ' * FORMAT.md §5.6 item 3: the MAC first',
      ' * docs/PUSH.md §5: the job',
      " const color = '#123456';",
      ' * fetch (docs.expo.dev/push-notifications/sending-notifications):',
      ' // the last commits (https://sqlite.org/pragma.html#pragma_synchronous)',
      '   load(); // as https://nodejs.org/api/fs.html says',
      " * const expo = createExpoSender({ baseUrl: 'https://exp.host', clock });",
      ' /** Base URL, e.g. `https://exp.host` (EXPO_PUSH_URL). */',
      " const EXPO = 'https://exp.host'; // Expo's push API (docs/PUSH.md §9)",
      ' /** Default server URL: NOAH_SERVER or http://localhost:8080. */',
      ' * publicUrl `https://backup.example.com`, or https://backup.example.com/x',
      ' * node.js and package.json are not web pages',
    ];
    const hits = lines.map((l) => FORBIDDEN.some((r) => r.test(l)));
    expect(hits).toEqual([
      ...[true, true, true, true, true, false, false, false],
      ...[true, true, true, false, false, false, false, false, false],
    ]);
  });
});
