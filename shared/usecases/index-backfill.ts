// Backfilling index keys after an index was re-keyed (byStatus, byRecipient): a session not written since
// lacks the new attributes and is missing from that index (a processing one is invisible to reset-stuck).
// One bounded batch per call: a page of the sessions table, each session whose stored index keys differ from
// what its next write would derive is written again through saveSession (the one place keys are derived),
// conditioned on the version read. The cursor resumes the walk; running it again is harmless.
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { ConflictError, DomainError } from '../domain/errors.ts';
import { SESSION_ID, type Session, SessionSchema } from '../domain/session.ts';
import { rewriteIndexKeys, scanSessionsPage, staleIndexKeys } from '../repositories/sessions.ts';
import { safeParse } from '../schema.ts';

/** Sessions one batch reads at most. */
export const BACKFILL_MAX_BATCH = 1000;
/** Rewrites in flight at once within a batch. */
const CONCURRENCY = 8;

const CursorSchema = v.strictObject({ sessionId: SESSION_ID });

/** The cursor as the operator sees it: the last key read, base64url JSON. */
export function encodeBackfillCursor(lastKey: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify({ sessionId: lastKey.sessionId })).toString('base64url');
}

/** The start key of a cursor; a DomainError `validation` for anything this code did not hand out. */
export function decodeBackfillCursor(cursor: string): Record<string, unknown> {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const parsed = safeParse(CursorSchema, decoded);
  if (!parsed.success) {
    throw new DomainError('validation', 'the cursor is not one a backfill printed', {
      fields: [{ path: 'cursor', message: 'not a backfill cursor' }],
    });
  }
  return parsed.data;
}

export interface BackfillBatch {
  readonly dryRun: boolean;
  /** Sessions read in this batch. */
  readonly read: number;
  /** Sessions whose index keys were out of date (dry run: would be rewritten). */
  readonly stale: number;
  /** Sessions rewritten (0 in a dry run). */
  readonly rewritten: number;
  /** Out-of-date attributes found, by attribute: what the batch fixed (or would). */
  readonly attributes: Record<string, number>;
  /** Written by someone else since the read: their own write derived the keys. */
  readonly changedMeanwhile: string[];
  /** Items that fail the stored-session schema: left alone, to be looked at. */
  readonly unreadable: string[];
  /** Where the next batch starts; absent when the table has been read to its end. */
  readonly next?: string;
}

export async function backfillIndexKeys(
  ctx: AppContext,
  input: { dryRun: boolean; limit: number; cursor?: string },
): Promise<BackfillBatch> {
  const limit = Math.max(1, Math.min(input.limit, BACKFILL_MAX_BATCH));
  const page = await scanSessionsPage(ctx, {
    limit,
    ...(input.cursor ? { startKey: decodeBackfillCursor(input.cursor) } : {}),
  });
  const attributes: Record<string, number> = {};
  const unreadable: string[] = [];
  const stale: Session[] = [];
  for (const item of page.items) {
    const parsed = safeParse(SessionSchema, item);
    if (!parsed.success) {
      unreadable.push(String(item.sessionId));
      continue;
    }
    const attrs = staleIndexKeys(parsed.data, ctx.shards);
    if (!attrs.length) continue;
    for (const attr of attrs) attributes[attr] = (attributes[attr] ?? 0) + 1;
    stale.push(parsed.data);
  }
  let rewritten = 0;
  const changedMeanwhile: string[] = [];
  if (!input.dryRun) {
    let nextIndex = 0;
    // The first failure (throttling, a lost grant) stops every worker; the batch then fails as a whole and
    // is resumed from its own cursor (what it rewrote is up to date and is not written again).
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      while (!failure && nextIndex < stale.length) {
        const session = stale[nextIndex++]!;
        try {
          await rewriteIndexKeys(ctx, session);
          rewritten++;
        } catch (error) {
          if (error instanceof ConflictError) changedMeanwhile.push(session.sessionId);
          else failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, stale.length) }, worker));
    if (failure) throw failure.error;
  }
  return {
    dryRun: input.dryRun,
    read: page.items.length,
    stale: stale.length,
    rewritten,
    attributes,
    changedMeanwhile,
    unreadable,
    ...(page.lastKey ? { next: encodeBackfillCursor(page.lastKey) } : {}),
  };
}
