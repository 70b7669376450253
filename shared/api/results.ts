// What a binding answers: a status with a body, and cursor-paginated pages.
import type { Schema } from '../schema.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import type { RouteResult } from './router.ts';
import { DEFAULT_LIMIT } from './schemas.ts';

export function ok(body: unknown, status = 200, headers?: Record<string, string>): RouteResult {
  return { status, body, ...(headers ? { headers } : {}) };
}

/** A cursor-paginated query: decode the incoming position, encode the outgoing one, bound to the query. */
export function paging<T>(list: string, query: Record<string, unknown>, position: Schema<T>) {
  const cursor = typeof query.cursor === 'string' ? query.cursor : undefined;
  return {
    limit: typeof query.limit === 'number' ? query.limit : DEFAULT_LIMIT,
    position: cursor ? decodeCursor(cursor, list, query, position) : undefined,
    page: <I>(items: I[], next: T | undefined) =>
      ok({ items, nextCursor: next ? encodeCursor(list, query, next) : null }),
  };
}
