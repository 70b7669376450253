// Retry policies in the control table. One active policy per org, pointed at by `activePolicy/<orgId>`;
// switching it is one transaction conditioned on the pointer as read, so racing activations never leave
// two active policies (test/integration/engine/policies.test.ts races eight).
//   policy: pk `policy`, sk <policyId>      pointer: pk `activePolicy`, sk <orgId> → policyId
import { randomBytes } from 'node:crypto';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../context.ts';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import { DEFAULT_ORG } from '../domain/org.ts';
import type { PolicyRules } from '../domain/policy-input.ts';
import { DEFAULT_POLICY, type RetryPolicy, RetryPolicySchema } from '../domain/retry-policy.ts';
import { parse } from '../schema.ts';
import { transactionCancellation } from './dynamo-errors.ts';

function strip(item: Record<string, unknown>): RetryPolicy {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return parse(RetryPolicySchema, rest);
}

export async function getPolicy(ctx: AppContext, policyId: string): Promise<RetryPolicy | undefined> {
  if (policyId === DEFAULT_POLICY.policyId) return DEFAULT_POLICY;
  const res = await ctx.ddb.send(
    new GetCommand({ TableName: ctx.tables.control, Key: { pk: 'policy', sk: policyId } }),
  );
  return res.Item ? strip(res.Item) : undefined;
}

export async function requirePolicy(ctx: AppContext, policyId: string): Promise<RetryPolicy> {
  const policy = await getPolicy(ctx, policyId);
  if (!policy) throw new NotFoundError('retry policy', policyId);
  return policy;
}

/** The org's active policy, or the built-in default when it has none. */
export async function getActivePolicy(ctx: AppContext, orgId = DEFAULT_ORG): Promise<RetryPolicy> {
  const pointer = await ctx.ddb.send(
    new GetCommand({
      TableName: ctx.tables.control,
      Key: { pk: 'activePolicy', sk: orgId },
      ConsistentRead: true,
    }),
  );
  const id = pointer.Item?.policyId as string | undefined;
  if (!id) return orgId === DEFAULT_ORG ? DEFAULT_POLICY : getActivePolicy(ctx, DEFAULT_ORG);
  return (await getPolicy(ctx, id)) ?? DEFAULT_POLICY;
}

export interface NewPolicy extends PolicyRules {
  readonly name: string;
  readonly orgId?: string;
  readonly active?: boolean;
}

export async function createPolicy(
  ctx: AppContext,
  input: NewPolicy,
  audit: { triggeredBy: string; at: Date },
): Promise<RetryPolicy> {
  const at = audit.at.toISOString();
  const orgId = input.orgId ?? DEFAULT_ORG;
  const active = input.active ?? true;
  const policy: RetryPolicy = parse(RetryPolicySchema, {
    ...input,
    policyId: `pol_${randomBytes(8).toString('hex')}`,
    orgId,
    active,
    jitter: input.jitter ?? 'none',
    createdAt: at,
    updatedAt: at,
    triggeredBy: audit.triggeredBy,
  });
  const put = {
    Put: {
      TableName: ctx.tables.control,
      Item: { pk: 'policy', sk: policy.policyId, ...policy },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
  if (!active) {
    await ctx.ddb.send(new TransactWriteCommand({ TransactItems: [put] }));
    return policy;
  }
  // Activation moves the org's pointer from the policy it was read pointing at, and clears that policy's
  // flag, in one transaction conditioned on the pointer not having moved since: of racing activations
  // exactly one wins each round, the others read the new pointer and go again. Never two active per org.
  for (let round = 1; ; round++) {
    const previousId = await activePolicyId(ctx, orgId);
    const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
      put,
      {
        Put: {
          TableName: ctx.tables.control,
          Item: { pk: 'activePolicy', sk: orgId, policyId: policy.policyId, at },
          ConditionExpression: previousId ? 'policyId = :previous' : 'attribute_not_exists(policyId)',
          ...(previousId ? { ExpressionAttributeValues: { ':previous': previousId } } : {}),
        },
      },
    ];
    if (previousId) {
      items.push({
        Update: {
          TableName: ctx.tables.control,
          Key: { pk: 'policy', sk: previousId },
          UpdateExpression: 'SET active = :f, updatedAt = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':f': false, ':at': at },
        },
      });
    }
    try {
      await ctx.ddb.send(new TransactWriteCommand({ TransactItems: items }));
      return policy;
    } catch (error) {
      const cancelled = transactionCancellation(error);
      // Only a moved pointer (or a transaction it collided with) is worth another round.
      const raced =
        cancelled?.codes[1] === 'ConditionalCheckFailed' ||
        cancelled?.codes.some((c) => c === 'TransactionConflict');
      if (!raced) throw error;
      if (round >= MAX_ACTIVATION_ROUNDS) {
        throw new ConflictError(
          `org ${orgId}: ${MAX_ACTIVATION_ROUNDS} other activations won the race for its active policy; try again`,
          undefined,
          { cause: error, reasons: cancelled?.codes },
        );
      }
      await sleep(Math.floor(Math.random() * 20 * round));
    }
  }
}

/** Rounds a racing activation goes before it answers 409: each lost round means another one won. */
const MAX_ACTIVATION_ROUNDS = 20;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The policy id the org's pointer holds (a strongly consistent read), undefined when none. */
async function activePolicyId(ctx: AppContext, orgId: string): Promise<string | undefined> {
  const pointer = await ctx.ddb.send(
    new GetCommand({
      TableName: ctx.tables.control,
      Key: { pk: 'activePolicy', sk: orgId },
      ConsistentRead: true,
    }),
  );
  const id = pointer.Item?.policyId;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

export async function listPolicies(
  ctx: AppContext,
  input: { orgId?: string; limit: number; startKey?: Record<string, unknown> },
): Promise<{ items: RetryPolicy[]; lastKey?: Record<string, unknown> }> {
  const res = await ctx.ddb.send(
    new QueryCommand({
      TableName: ctx.tables.control,
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: input.orgId ? 'orgId = :org' : undefined,
      ExpressionAttributeValues: { ':pk': 'policy', ...(input.orgId ? { ':org': input.orgId } : {}) },
      Limit: input.limit,
      ExclusiveStartKey: input.startKey,
    }),
  );
  return { items: (res.Items ?? []).map(strip), lastKey: res.LastEvaluatedKey };
}

/** Policies are never deleted (sessions and previews refer to them): they are deactivated. */
export async function deactivatePolicy(
  ctx: AppContext,
  policyId: string,
  audit: { triggeredBy: string; at: Date },
): Promise<RetryPolicy> {
  const policy = await requirePolicy(ctx, policyId);
  if (policy.policyId === DEFAULT_POLICY.policyId) return { ...policy, active: false };
  const at = audit.at.toISOString();
  await ctx.ddb.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Update: {
            TableName: ctx.tables.control,
            Key: { pk: 'policy', sk: policyId },
            UpdateExpression: 'SET active = :f, updatedAt = :at, triggeredBy = :by',
            ExpressionAttributeValues: { ':f': false, ':at': at, ':by': audit.triggeredBy },
          },
        },
      ],
    }),
  );
  // Drop the org's pointer only if it still points here (another policy may have been activated since).
  await ctx.ddb
    .send(
      new UpdateCommand({
        TableName: ctx.tables.control,
        Key: { pk: 'activePolicy', sk: policy.orgId },
        UpdateExpression: 'REMOVE policyId',
        ConditionExpression: 'policyId = :id',
        ExpressionAttributeValues: { ':id': policyId },
      }),
    )
    .catch((error: unknown) => {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    });
  return { ...policy, active: false, updatedAt: at };
}

/** Policies looked up during one run, read once each. */
export function policyCache(ctx: AppContext) {
  const cache = new Map<string, Promise<RetryPolicy | undefined>>();
  return (policyId: string | undefined, orgId: string | undefined): Promise<RetryPolicy> => {
    const key = policyId ?? `active:${orgId ?? DEFAULT_ORG}`;
    let hit = cache.get(key);
    if (!hit) {
      hit = policyId ? getPolicy(ctx, policyId) : getActivePolicy(ctx, orgId);
      cache.set(key, hit);
    }
    return hit.then((p) => p ?? DEFAULT_POLICY);
  };
}
