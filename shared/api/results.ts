// What a binding answers: a status with a body, and cursor-paginated pages that stay under Lambda's
// response limit whatever the items hold.
import type { AppContext } from '../context.ts';
import type { Schema } from '../schema.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { HttpProblem, problem } from './problem.ts';
import type { RouteResult } from './router.ts';
import { DEFAULT_LIMIT } from './schemas.ts';

export function ok(body: unknown, status = 200, headers?: Record<string, string>): RouteResult {
  return { status, body, ...(headers ? { headers } : {}) };
}

/**
 * The items of one page, at most: Lambda answers API Gateway with at most 6 MB (6,291,456 bytes) of JSON,
 * in which the body travels as an escaped string (every `"` and `\` doubled, control characters six bytes
 * each). Items are counted as they travel; the 2 MiB left over covers the envelope, headers and cursor.
 */
export const PAGE_BUDGET_BYTES = 4 * 1024 * 1024;

/** Bytes an item adds to the Lambda response: its JSON, escaped once more inside the body string, and a comma. */
function travellingBytes(item: unknown): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(item) ?? 'null')) - 2 + 1;
}

/** How many of `items` fit in the budget; at least one, so a page always moves the listing forward. */
export function itemsWithinBudget(items: readonly unknown[], budget = PAGE_BUDGET_BYTES): number {
  let used = 0;
  for (let i = 0; i < items.length; i++) {
    used += travellingBytes(items[i]);
    if (used > budget) return Math.max(1, i);
  }
  return items.length;
}

export interface Paging<T> {
  readonly limit: number;
  readonly position: T | undefined;
  /**
   * The answer: `items` as far as they fit in PAGE_BUDGET_BYTES, and the cursor that continues after the
   * last one given. `after(i)` is the position right after `items[i]` (where a trimmed page continues);
   * `next` where the listing continues after all of them (undefined when it is done).
   */
  page<I>(items: readonly I[], next: T | undefined, after: (index: number) => T): RouteResult;
}

/** A cursor-paginated query: decode the incoming position, encode the outgoing one, bound to the query. */
export async function paging<T>(
  ctx: AppContext,
  list: string,
  query: Record<string, unknown>,
  position: Schema<T>,
): Promise<Paging<T>> {
  if (!ctx.cursorKey) throw new Error('this API has no cursor key (AppContext.cursorKey)');
  const key = await ctx.cursorKey();
  const cursor = typeof query.cursor === 'string' ? query.cursor : undefined;
  return {
    limit: typeof query.limit === 'number' ? query.limit : DEFAULT_LIMIT,
    position: cursor ? decodeCursor(key, cursor, list, query, position) : undefined,
    page(items, next, after) {
      const fit = itemsWithinBudget(items);
      const continueAt = fit < items.length ? after(fit - 1) : next;
      return ok({
        items: items.slice(0, fit),
        nextCursor: continueAt ? encodeCursor(key, list, query, continueAt) : null,
      });
    },
  };
}

export interface Continuation<T> {
  /** Where the call continues (undefined on a first call). */
  readonly position: T | undefined;
  /** The cursor of `next`, or null when the operation is done. */
  sign(next: T | undefined): string | null;
}

/**
 * A batch operation's continuation (reset-stuck, DLQ replay): a cursor in the request body, signed like
 * list cursors and bound to the operation's filters, so a call can only continue the same operation.
 */
export async function continuation<T>(
  ctx: AppContext,
  operation: string,
  filters: Record<string, unknown>,
  raw: string | undefined,
  position: Schema<T>,
): Promise<Continuation<T>> {
  if (!ctx.cursorKey) throw new Error('this API has no cursor key (AppContext.cursorKey)');
  const key = await ctx.cursorKey();
  let decoded: T | undefined;
  try {
    decoded = raw ? decodeCursor(key, raw, operation, filters, position) : undefined;
  } catch (error) {
    // The cursor travels in the body here: name it where the caller put it.
    if (!(error instanceof HttpProblem)) throw error;
    const { errors } = error.problem;
    throw new HttpProblem(
      problem(
        400,
        'validation',
        'the cursor does not continue this operation',
        errors.map((e) => ({ ...e, path: 'body.cursor' })),
      ),
    );
  }
  return {
    position: decoded,
    sign: (next) => (next === undefined ? null : encodeCursor(key, operation, filters, next)),
  };
}
