// Fast seeding for tests and benches: valid session items written with BatchWriteItem, with their
// index keys derived exactly as saveSession derives them.
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../../shared/context.ts';
import { DEFAULT_POLICY } from '../../shared/domain/retry-policy.ts';
import type { Session } from '../../shared/domain/session.ts';
import { withIndexKeys } from '../../shared/repositories/sessions.ts';

export function stalledSession(id: string, nextRetryAt: string, overrides: Partial<Session> = {}): Session {
  return {
    sessionId: id,
    kind: 'checkout',
    status: 'stalled',
    policyId: DEFAULT_POLICY.policyId,
    maxRetries: 3,
    retryCount: 0,
    nextRetryAt,
    contact: { email: `${id}@example.com` },
    recoveryUrl: `https://shop.example.com/recover/${id}`,
    version: 0,
    createdAt: '2026-03-01T00:00:00.000Z',
    updatedAt: '2026-03-01T00:00:00.000Z',
    ...overrides,
  };
}

export async function batchPut(
  ctx: AppContext,
  table: string,
  items: ReadonlyArray<Record<string, unknown>>,
  onProgress?: (done: number) => void,
): Promise<void> {
  const chunks: Array<Array<Record<string, unknown>>> = [];
  for (let i = 0; i < items.length; i += 25)
    chunks.push(items.slice(i, i + 25) as Array<Record<string, unknown>>);
  let done = 0;
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++]!;
      let pending = chunk.map((Item) => ({ PutRequest: { Item } }));
      while (pending.length) {
        const res = await ctx.ddb.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
        pending = (res.UnprocessedItems?.[table] ?? []) as typeof pending;
      }
      done += chunk.length;
      onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

export async function seedSessions(
  ctx: AppContext,
  sessions: readonly Session[],
  onProgress?: (done: number) => void,
): Promise<void> {
  await batchPut(
    ctx,
    ctx.tables.sessions,
    sessions.map((s) => withIndexKeys(s, ctx.shards)),
    onProgress,
  );
}

/** Every item of a table (tests only: the service itself never scans). */
export async function scanAll(ctx: AppContext, table: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await ctx.ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: startKey }));
    out.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return out;
}

export async function attemptItems(ctx: AppContext): Promise<Array<Record<string, unknown>>> {
  return (await scanAll(ctx, ctx.tables.timeline)).filter((i) => i.type === 'attempt');
}

/** Deletes sessions by id (a property test's run clearing what it seeded). */
export async function deleteSessions(ctx: AppContext, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 25) {
    const keys = ids.slice(i, i + 25).map((sessionId) => ({ DeleteRequest: { Key: { sessionId } } }));
    let pending: typeof keys = keys;
    while (pending.length) {
      const res = await ctx.ddb.send(
        new BatchWriteCommand({ RequestItems: { [ctx.tables.sessions]: pending } }),
      );
      pending = (res.UnprocessedItems?.[ctx.tables.sessions] ?? []) as typeof keys;
    }
  }
}
