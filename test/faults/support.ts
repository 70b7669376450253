// What the fault tests share: a retry policy written straight into the control table, reading every
// message a channel queue holds, and the attempts grouped the way the guarantees are stated.

import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../../shared/context.ts';
import type { RetryPolicy } from '../../shared/domain/retry-policy.ts';
import type { RecoveryMessage } from '../../shared/messages.ts';
import { receiveAllBodies } from '../support/queues.ts';
import { scanAll } from '../support/seed.ts';

export async function putPolicy(
  ctx: AppContext,
  rules: Partial<RetryPolicy> & Pick<RetryPolicy, 'policyId'>,
): Promise<RetryPolicy> {
  const policy: RetryPolicy = {
    name: rules.policyId,
    orgId: 'default',
    active: false,
    maxRetries: 3,
    initialDelaySeconds: 3600,
    backoffMultiplier: 2,
    maxDelaySeconds: 86400,
    jitter: 'none',
    enabledChannels: ['email'],
    createdAt: '2026-03-01T00:00:00.000Z',
    updatedAt: '2026-03-01T00:00:00.000Z',
    ...rules,
  };
  await ctx.ddb.send(
    new PutCommand({ TableName: ctx.tables.control, Item: { pk: 'policy', sk: policy.policyId, ...policy } }),
  );
  return policy;
}

/** Every message on a queue, received once each (hidden for 5 real minutes: nothing sees it twice). */
export async function drainQueue(ctx: AppContext, url: string): Promise<RecoveryMessage[]> {
  return (await receiveAllBodies(ctx, url)) as RecoveryMessage[];
}

export interface AttemptRow {
  sessionId: string;
  sk: string;
  attemptId: string;
  number: number;
  at: string;
  state: string;
  fence: number;
  final: boolean;
  outboxShard?: string;
  dispatchAfter?: string;
  dispatchedAt?: string;
}

/** Attempt items of the whole timeline table (tests only: the service never scans). */
export async function allAttempts(ctx: AppContext): Promise<AttemptRow[]> {
  return (await scanAll(ctx, ctx.tables.timeline))
    .filter((i) => i.type === 'attempt')
    .map((i) => i as unknown as AttemptRow);
}

/** Attempt items of one session, in attempt order (a Query: cheap enough per run of a property). */
export async function attemptsOf(ctx: AppContext, sessionId: string): Promise<AttemptRow[]> {
  const res = await ctx.ddb.send(
    new QueryCommand({
      TableName: ctx.tables.timeline,
      KeyConditionExpression: 'sessionId = :id',
      FilterExpression: '#type = :attempt',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: { ':id': sessionId, ':attempt': 'attempt' },
      ConsistentRead: true,
    }),
  );
  return ((res.Items ?? []) as unknown as AttemptRow[]).sort((a, b) => a.number - b.number);
}

/** How many attempt items each (session, number) has: the exactly-once figure. */
export function countBySessionAndNumber(attempts: readonly AttemptRow[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of attempts) {
    const key = `${a.sessionId}#${a.number}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Copies of each attempt's message on a queue. */
export function copiesByAttempt(messages: readonly RecoveryMessage[]): Map<string, number> {
  const copies = new Map<string, number>();
  for (const m of messages) copies.set(m.attemptId, (copies.get(m.attemptId) ?? 0) + 1);
  return copies;
}
