/**
 * The import graph of every package's sources has no cycle: a module that imports its own
 * importer cannot be understood, tested or moved on its own, and loads half-initialised.
 * Imports are resolved as the compiler does
 * (tsconfig.json), type-only and dynamic ones included, so a new cycle fails here with the
 * files that form it.
 */
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function compilerOptions(): ts.CompilerOptions {
  const file = join(ROOT, 'tsconfig.json');
  const { config } = ts.readConfigFile(file, ts.sys.readFile);
  return ts.parseJsonConfigFileContent(config, ts.sys, ROOT).options;
}

/** Edges from each source file to the source files it imports (resolved, same tree). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const options = compilerOptions();
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(ts.sys.readFile(file) ?? '', true, true);
    const targets = new Set<string>();
    for (const ref of info.importedFiles) {
      const hit = ts.resolveModuleName(ref.fileName, file, options, ts.sys).resolvedModule;
      const target = hit && resolve(hit.resolvedFileName);
      if (target && known.has(target) && target !== file) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** Strongly connected components with more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(relative(ROOT, w));
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('import graph', () => {
  const packages = readdirSync(join(ROOT, 'packages'));
  const files = packages.flatMap((p) => sourceFiles(join(ROOT, 'packages', p, 'src')));
  const graph = importGraph(files);

  it('reads every package and resolves their imports', () => {
    expect(packages).toEqual(expect.arrayContaining(['core', 'client', 'server', 'cli', 'web']));
    // The resolver must really follow imports, or "no cycle" would hold vacuously.
    const edges = [...graph.values()].reduce((n, targets) => n + targets.length, 0);
    expect(edges).toBeGreaterThan(files.length);
    const app = graph.get(join(ROOT, 'packages/server/src/app.ts')) ?? [];
    expect(app.map((f) => relative(ROOT, f))).toContain('packages/server/src/http/errors.ts');
    const cli = [...graph.entries()].filter(([f]) => f.includes('/packages/cli/src/'));
    expect(cli.some(([, t]) => t.some((f) => f.includes('/packages/core/src/')))).toBe(true);
  });

  it('has no cycle in packages/*/src', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const a = '/x/a.ts';
    const b = '/x/b.ts';
    const c = '/x/c.ts';
    const found = cycles(
      new Map([
        [a, [b]],
        [b, [c]],
        [c, [a]],
      ]),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toHaveLength(3);
  });
});
