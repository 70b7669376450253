// Retry policies against DynamoDB Local: activating one is atomic, so an org never has two active
// policies, however many activations race (the pointer write is conditioned on the pointer as read).
import { describe, expect, it } from 'vitest';
import { createPolicy, getActivePolicy, listPolicies } from '../../../shared/repositories/policies.ts';
import { createTestContext } from '../../support/context.ts';

const { ctx } = await createTestContext();

const rules = {
  maxRetries: 3,
  initialDelaySeconds: 60,
  backoffMultiplier: 2,
  maxDelaySeconds: 3600,
  jitter: 'none' as const,
  enabledChannels: ['email' as const],
};

async function activeOf(orgId: string) {
  const { items } = await listPolicies(ctx, { orgId, limit: 100 });
  return items.filter((p) => p.active);
}

describe('policy activation', () => {
  it.each([
    ['an org with an active policy', 'acme', true],
    ['an org with none yet', 'globex', false],
  ])('leaves exactly one active policy when 8 activations race on %s', async (_, orgId, seeded) => {
    const audit = { triggeredBy: 'test', at: new Date('2026-03-02T10:00:00.000Z') };
    if (seeded) await createPolicy(ctx, { ...rules, name: 'first', orgId }, audit);
    const created = await Promise.all(
      Array.from({ length: 8 }, (_, i) => createPolicy(ctx, { ...rules, name: `racer ${i}`, orgId }, audit)),
    );
    const active = await activeOf(orgId);
    expect(active.map((p) => p.name)).toHaveLength(1);
    // The pointer and the flag agree: the one active policy is the one the org's sessions get.
    expect((await getActivePolicy(ctx, orgId)).policyId).toBe(active[0]?.policyId);
    expect(created.map((p) => p.policyId)).toContain(active[0]?.policyId);
    const { items } = await listPolicies(ctx, { orgId, limit: 100 });
    expect(items).toHaveLength(seeded ? 9 : 8);
  });
});
