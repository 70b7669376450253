// Retry policies in the control table. One active policy per org, pointed at by `activePolicy/<orgId>`;
// switching it is one transaction so there is never zero or two active policies.
//   policy: pk `policy`, sk <policyId>      pointer: pk `activePolicy`, sk <orgId> → policyId
import { randomBytes } from 'node:crypto';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../context.ts';
import { NotFoundError } from '../domain/errors.ts';
import { DEFAULT_ORG } from '../domain/org.ts';
import type { PolicyRules } from '../domain/policy-input.ts';
import { DEFAULT_POLICY, type RetryPolicy, RetryPolicySchema } from '../domain/retry-policy.ts';
import { parse } from '../schema.ts';

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
  const previous = active ? await getActivePolicy(ctx, orgId) : undefined;
  const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
    {
      Put: {
        TableName: ctx.tables.control,
        Item: { pk: 'policy', sk: policy.policyId, ...policy },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ];
  if (active) {
    items.push({
      Put: {
        TableName: ctx.tables.control,
        Item: { pk: 'activePolicy', sk: orgId, policyId: policy.policyId, at },
      },
    });
    if (previous && previous.policyId !== DEFAULT_POLICY.policyId && previous.orgId === orgId) {
      items.push({
        Update: {
          TableName: ctx.tables.control,
          Key: { pk: 'policy', sk: previous.policyId },
          UpdateExpression: 'SET active = :f, updatedAt = :at',
          ExpressionAttributeValues: { ':f': false, ':at': at },
        },
      });
    }
  }
  await ctx.ddb.send(new TransactWriteCommand({ TransactItems: items }));
  return policy;
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
