// Local IAM bites: a variant of the stack that lacks one grant the code needs (the API's Query on the sessions
// table's byRecipient index, as the stack really lacked it) makes the console's "find by email" fail with
// AccessDenied end to end, where the real stack answers 200. The variant's gate stands in front of the run's.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { functionContexts } from '../../../local/function-contexts.ts';
import { type IamGate, startIamGate } from '../../../local/iam-gate.ts';
import { synthesizeFunctionPolicies } from '../../../local/iam-policies.ts';
import { registerSession } from '../../../shared/usecases/sessions.ts';
import { Coverage, serveTestApi, type TestApi } from '../../api/support.ts';
import { createTestContext, type TestContext } from '../../support/context.ts';

/** Drops every index ARN named `index` from the api function's role (the grant a real stack missed). */
function withoutIndexGrant(index: string) {
  return (template: {
    Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  }) => {
    for (const [id, res] of Object.entries(template.Resources)) {
      if (res.Type !== 'AWS::IAM::Policy' || !id.startsWith('ApiRole')) continue;
      const doc = res.Properties?.PolicyDocument as { Statement: Array<{ Resource?: unknown }> };
      for (const statement of doc.Statement) {
        if (Array.isArray(statement.Resource))
          statement.Resource = statement.Resource.filter(
            (r) => !JSON.stringify(r).includes(`/index/${index}`),
          );
      }
    }
  };
}

describe.runIf(inject('localIam') === 'enforced')('a stack variant missing one grant', () => {
  let tc: TestContext;
  let variant: IamGate;
  let real: TestApi;
  let missing: TestApi;

  beforeAll(async () => {
    tc = await createTestContext();
    variant = await startIamGate({
      upstream: tc.endpoints,
      policies: synthesizeFunctionPolicies(tc.endpoints.region, { edit: withoutIndexGrant('byRecipient') }),
    });
    const identity = {
      endpoints: variant.endpoints,
      prefix: tc.identity.prefix,
      authorize: variant.authorize,
    };
    real = await serveTestApi(tc.ctx, new Coverage(), { ctxFor: tc.ctxFor, identity: tc.identity });
    missing = await serveTestApi(tc.ctx, new Coverage(), {
      ctxFor: functionContexts(tc.ctx, identity),
      identity,
    });
    await registerSession(
      tc.ctx,
      {
        sessionId: 'variant-1',
        kind: 'checkout',
        status: 'stalled',
        contact: { email: 'variant@example.com' },
        recoveryUrl: 'https://shop.example.com/r/variant-1',
      },
      { triggeredBy: 'test' },
    );
    return async () => {
      await missing.stop();
      await real.stop();
      await variant.stop();
    };
  }, 120_000);

  it('fails GET /v1/sessions?recipient= with AccessDenied on the index, which the real stack serves', async () => {
    // Act
    const denied = await fetch(`${missing.url}/v1/sessions?recipient=variant@example.com`);
    const served = await real.call('GET', '/v1/sessions?recipient=variant@example.com');
    // Assess
    expect(denied.status).toBe(500);
    expect(variant.denials()).toContainEqual({
      functionId: 'api',
      action: 'dynamodb:Query',
      resource: `arn:aws:dynamodb:${tc.endpoints.region}:000000000000:table/${tc.ctx.tables.sessions}/index/byRecipient`,
    });
    expect(served.status).toBe(200);
  });
});
