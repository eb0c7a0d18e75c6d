/**
 * The error catalog is the one list of codes: every code a source file of any package
 * throws, answers or compares against is in it (collected from the syntax trees of
 * packages/* /src, so a code typed as a plain string cannot slip past the compiler), and
 * every code it lists for the client is produced somewhere (no dead entries).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CATALOG,
  ERROR_CLASSES,
  FORMER_CODES,
  errorClass,
  isApiCode,
  isCatalogCode,
  toCatalogCode,
} from '../src/error-catalog.ts';

const PACKAGES = resolve(import.meta.dirname, '../..');
const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** Every .ts/.tsx file under packages/<name>/src. */
function sourceFiles(): string[] {
  const out: string[] = [];
  for (const pkg of readdirSync(PACKAGES)) {
    const src = join(PACKAGES, pkg, 'src');
    let names: string[];
    try {
      names = readdirSync(src, { recursive: true }) as string[];
    } catch {
      continue;
    }
    for (const n of names) if (/\.tsx?$/.test(n) && !n.endsWith('.d.ts')) out.push(join(src, n));
  }
  return out;
}

/** A code found in the source, and where. */
interface Found {
  code: string;
  at: string;
}

/** The string literals an expression may evaluate to (through `?:` and `??`). */
function literals(e: ts.Expression | undefined): string[] {
  if (!e) return [];
  if (ts.isStringLiteralLike(e)) return [e.text];
  if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e)) return literals(e.expression);
  if (ts.isConditionalExpression(e)) return [...literals(e.whenTrue), ...literals(e.whenFalse)];
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)
    return [...literals(e.left), ...literals(e.right)];
  return [];
}

/** `code` or `<anything>.code`. */
const isCodeRef = (e: ts.Expression): boolean =>
  (ts.isIdentifier(e) && e.text === 'code') ||
  (ts.isPropertyAccessExpression(e) && e.name.text === 'code');

const calleeName = (e: ts.Expression): string | undefined =>
  ts.isIdentifier(e) ? e.text : ts.isPropertyAccessExpression(e) ? e.name.text : undefined;

/**
 * Collects every error code in the source: arguments in the `code` position of any
 * function or constructor with a parameter named `code` (classes inherit their base's
 * constructor), `super(…)` of those classes, `code: …` and `code = …` properties, and
 * literals compared with (or switched on) a `code`.
 */
function collectCodes(): Found[] {
  const files = sourceFiles().map((f) => ({
    f,
    sf: ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.ES2022, true),
  }));
  // Pass 1: where each callable takes its `code` parameter; class heritage.
  const codeParam = new Map<string, Set<number>>();
  const base = new Map<string, string>();
  const note = (name: string | undefined, params: ts.NodeArray<ts.ParameterDeclaration>) => {
    const i = params.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === 'code');
    if (name && i >= 0) codeParam.set(name, new Set([...(codeParam.get(name) ?? []), i]));
  };
  for (const { sf } of files)
    sf.forEachChild(function visit(n: ts.Node): void {
      if (ts.isClassDeclaration(n) && n.name) {
        const ext = n.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword);
        const b = ext?.types[0]?.expression;
        if (b && ts.isIdentifier(b)) base.set(n.name.text, b.text);
        const ctor = n.members.find(ts.isConstructorDeclaration);
        if (ctor) note(n.name.text, ctor.parameters);
      }
      if (ts.isFunctionDeclaration(n)) note(n.name?.text, n.parameters);
      if (
        ts.isVariableDeclaration(n) &&
        ts.isIdentifier(n.name) &&
        n.initializer &&
        (ts.isArrowFunction(n.initializer) || ts.isFunctionExpression(n.initializer))
      )
        note(n.name.text, n.initializer.parameters);
      n.forEachChild(visit);
    });
  const positions = (name: string | undefined): Set<number> | undefined => {
    for (let c = name, depth = 0; c && depth < 10; c = base.get(c), depth++) {
      const p = codeParam.get(c);
      if (p) return p;
    }
    return undefined;
  };
  // Pass 2: the codes.
  const found: Found[] = [];
  for (const { f, sf } of files) {
    const add = (node: ts.Node, codes: string[]) => {
      const line = sf.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      for (const code of codes) found.push({ code, at: `${f.slice(PACKAGES.length + 1)}:${line}` });
    };
    let currentClass: string | undefined;
    const visit = (n: ts.Node): void => {
      const outer = currentClass;
      if (ts.isClassDeclaration(n)) currentClass = n.name?.text;
      if (ts.isCallExpression(n) || ts.isNewExpression(n)) {
        const name =
          n.expression.kind === ts.SyntaxKind.SuperKeyword
            ? currentClass && base.get(currentClass)
            : calleeName(n.expression);
        for (const i of positions(name) ?? []) add(n, literals(n.arguments?.[i]));
      }
      if (
        (ts.isPropertyAssignment(n) || ts.isPropertyDeclaration(n)) &&
        ts.isIdentifier(n.name) &&
        n.name.text === 'code'
      )
        add(n, literals(n.initializer));
      if (
        ts.isBinaryExpression(n) &&
        [
          ts.SyntaxKind.EqualsEqualsEqualsToken,
          ts.SyntaxKind.ExclamationEqualsEqualsToken,
        ].includes(n.operatorToken.kind)
      ) {
        if (isCodeRef(n.left)) add(n, literals(n.right));
        if (isCodeRef(n.right)) add(n, literals(n.left));
      }
      if (ts.isSwitchStatement(n) && isCodeRef(n.expression))
        for (const c of n.caseBlock.clauses) if (ts.isCaseClause(c)) add(c, literals(c.expression));
      n.forEachChild(visit);
      currentClass = outer;
    };
    visit(sf);
  }
  // System error codes (`ENOSPC`, `EADDRINUSE`) and third parties' (Expo's
  // `DeviceNotRegistered`) are not ours: ours are snake_case.
  return found.filter((x) => SNAKE.test(x.code));
}

describe('the error catalog', () => {
  it('gives every code a class with a next step, and a meaning', () => {
    expect(Object.keys(ERROR_CATALOG).length).toBeGreaterThan(60);
    for (const [code, [cls, meaning]] of Object.entries(ERROR_CATALOG)) {
      expect(code).toMatch(SNAKE);
      expect(Object.keys(ERROR_CLASSES), code).toContain(cls);
      expect(meaning.length, code).toBeGreaterThan(5);
    }
    for (const cls of Object.keys(ERROR_CLASSES))
      expect(
        Object.values(ERROR_CATALOG).some(([c]) => c === cls),
        cls,
      ).toBe(true);
  });

  it('maps former codes to current ones, and knows no prototype keys', () => {
    for (const [former, now] of Object.entries(FORMER_CODES)) {
      expect(isCatalogCode(former), former).toBe(false);
      expect(isCatalogCode(now), now).toBe(true);
      expect(toCatalogCode(former)).toBe(now);
    }
    expect(toCatalogCode('decryption_failed')).toBe('decryption_failed');
    for (const k of ['toString', 'constructor', '__proto__', 'nope', undefined, 7])
      expect([isCatalogCode(k), isApiCode(k), toCatalogCode(k)]).toEqual([false, false, undefined]);
    expect(isApiCode('backup_not_found')).toBe(true);
    expect(isApiCode('decryption_failed')).toBe(false);
    expect(errorClass('rollback_confirmation_required')).toBe('confirm');
  });

  const found = collectCodes();

  it('holds every code the source throws, answers or compares against', () => {
    // The collector sees each kind of site: a constructor's code, a subclass's super(…)
    // over several lines, a conditional, a property, a comparison, a switch, the server's.
    for (const code of [
      'not_writable', // new CliError(…) in a conditional
      'permission_denied',
      'unsupported_payload_kind', // super(…) over several lines
      'stalled', // new NetworkError(…)
      'interrupted', // code: '…'
      'no_backups', // the web app
      'busy',
      'decryption_failed', // switch (code)
      'upload_not_found', // apiError(…) in the server
    ])
      expect(
        found.map((x) => x.code),
        code,
      ).toContain(code);
    const unknown = found.filter((x) => !isCatalogCode(x.code));
    expect(unknown, 'codes missing from packages/core/src/error-catalog.ts').toEqual([]);
  });

  it('lists no client code that nothing produces', () => {
    const produced = new Set(found.map((x) => x.code));
    const dead = Object.keys(ERROR_CATALOG).filter((c) => !isApiCode(c) && !produced.has(c));
    expect(dead, 'catalog codes no source file throws').toEqual([]);
  });
});
