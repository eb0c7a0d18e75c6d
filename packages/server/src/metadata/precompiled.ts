/**
 * Queries compiled once, for the statements every request runs (the session lookup, a
 * user's backups). Building and compiling a Kysely query costs more CPU than SQLite
 * takes to answer a point query, so the hot queries are built once, with stand-in
 * values, and each call only swaps in its parameters. The SQL text stays identical
 * across calls, so the SQLite connection's statement cache (sqlite.ts) hits on a
 * string whose hash is already computed.
 * @module
 */
import type { CompiledQuery, Compilable, Kysely } from 'kysely';
import type { MetadataDb } from './schema.ts';

/** A compiled query: call it with the parameter values, in the order they were bound. */
export type Precompiled<R> = (parameters: readonly unknown[]) => Promise<R[]>;

/**
 * Compiles `query` once and returns a function that runs it with other parameters. The
 * query's own values are stand-ins: they fix the number and order of the parameters,
 * which is the order of the values in the builder chain (`where` after `where`).
 *
 * @param db - the store's Kysely handle (queries run outside any transaction)
 * @param query - a query built with one stand-in value per parameter
 * @param parameterCount - how many parameters the compiled SQL must have
 * @returns the runner; it resolves to the result rows
 * @throws RangeError at build time when the SQL has another number of parameters
 * @example
 * ```ts
 * const byId = precompile(db, db.selectFrom('users').selectAll().where('id', '=', ''), 1);
 * const [row] = await byId([userId]);
 * ```
 */
export function precompile<R>(
  db: Kysely<MetadataDb>,
  query: Compilable<R>,
  parameterCount: number,
): Precompiled<R> {
  const compiled = query.compile();
  if (compiled.parameters.length !== parameterCount)
    throw new RangeError(
      `parameterCount: the query has ${compiled.parameters.length} parameters, not ${parameterCount}`,
    );
  return async (parameters) => {
    if (parameters.length !== parameterCount)
      throw new RangeError(`expected ${parameterCount} parameters, got ${parameters.length}`);
    const q: CompiledQuery<R> = { ...compiled, parameters };
    return (await db.executeQuery(q)).rows;
  };
}
