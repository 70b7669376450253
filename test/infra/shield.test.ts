// Public and product routes shielded (#20): each caller class has its own method-level throttle (provider
// callbacks, one-click unsubscribe, the product, operators at the stage default), so one cannot drain
// another's; with the WAF on, a partner webhook body over the common rule set's 8 KB passes on the callback
// paths only; and the cdk-nag acknowledgement of each public route says who calls it and how it is verified.
import { describe, expect, it } from 'vitest';
import { callerClass } from '../../lib/constructs/admin-api.ts';
import { ROUTES } from '../../shared/api/routes.ts';
import { ALL_CHANNELS_CONTEXT, props, resourcesOfType, synth } from './synth.ts';

// Distinct limits per class, so a setting can only match the class it was configured for.
const LIMITS = {
  apiThrottleRateLimit: 11,
  apiThrottleBurstLimit: 12,
  productThrottleRateLimit: 21,
  productThrottleBurstLimit: 22,
  callbackThrottleRateLimit: 31,
  callbackThrottleBurstLimit: 32,
  unsubscribeThrottleRateLimit: 41,
  unsubscribeThrottleBurstLimit: 42,
};
const EXPECTED = {
  operator: [11, 12],
  product: [21, 22],
  callback: [31, 32],
  unsubscribe: [41, 42],
} as const;

const { json } = synth({ ...ALL_CHANNELS_CONTEXT, ...LIMITS });
const withWaf = synth({ ...ALL_CHANNELS_CONTEXT, apiWaf: true }, { nag: true });

interface MethodSetting {
  HttpMethod: string;
  ResourcePath: string;
  ThrottlingRateLimit: number;
  ThrottlingBurstLimit: number;
}
/** `/~1v1~1sessions` (API Gateway's escaping of a method path) → `/v1/sessions`. */
const methodPath = (path: string) => path.slice(1).replace(/~1/g, '/');

describe('throttles by caller class', () => {
  const [, stage] = resourcesOfType(json, 'AWS::ApiGateway::Stage')[0]!;
  const settings = props<{ MethodSettings: MethodSetting[] }>(stage).MethodSettings;
  const limitOf = (method: string, path: string) => {
    const own = settings.find((s) => s.HttpMethod === method && methodPath(s.ResourcePath) === path);
    const applied = own ?? settings.find((s) => s.HttpMethod === '*' && s.ResourcePath === '/*');
    return [applied?.ThrottlingRateLimit, applied?.ThrottlingBurstLimit];
  };

  it('gives every route the limits of its caller class, and each class its own', () => {
    const seen = new Set<string>();
    for (const route of ROUTES) {
      const caller = callerClass(route);
      seen.add(caller);
      expect(limitOf(route.method, route.path), `${route.method} ${route.path}`).toEqual(EXPECTED[caller]);
    }
    expect([...seen].sort()).toEqual(['callback', 'operator', 'product', 'unsubscribe']);
  });

  it('classes the routes the issue names as it says', () => {
    const of = (method: string, path: string) => {
      const route = ROUTES.find((r) => r.method === method && r.path === path);
      if (!route) throw new Error(`no route ${method} ${path}`);
      return callerClass(route);
    };
    expect(of('POST', '/v1/public/hooks/twilio/status')).toBe('callback');
    expect(of('POST', '/v1/public/hooks/stripe')).toBe('callback');
    expect(of('POST', '/v1/public/hooks/shopify')).toBe('callback');
    expect(of('POST', '/v1/public/unsubscribe/{token}')).toBe('unsubscribe');
    expect(of('POST', '/v1/sessions')).toBe('product');
    expect(of('POST', '/v1/events')).toBe('product');
    expect(of('POST', '/v1/admin/dlq/{channel}/replay')).toBe('operator');
  });
});

describe('WAF', () => {
  interface Rule {
    Name: string;
    Priority: number;
    Statement: Record<string, unknown>;
    Action?: unknown;
  }
  const [, acl] = resourcesOfType(withWaf.json, 'AWS::WAFv2::WebACL')[0]!;
  const rules = [...props<{ Rules: Rule[] }>(acl).Rules].sort((a, b) => a.Priority - b.Priority);

  it("counts the common rule set's body-size rule instead of blocking on it", () => {
    const common = rules.find((r) => r.Name === 'AWSManagedRulesCommonRuleSet');
    expect(common?.Statement).toMatchObject({
      ManagedRuleGroupStatement: {
        RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
      },
    });
  });

  it('blocks a body over the limit right after it, except on the provider callback paths', () => {
    const common = rules.findIndex((r) => r.Name === 'AWSManagedRulesCommonRuleSet');
    const next = rules[common + 1];
    expect(next).toMatchObject({
      Name: 'BodySizeOutsideCallbacks',
      Action: { Block: {} },
      Statement: {
        AndStatement: {
          Statements: [
            {
              LabelMatchStatement: {
                Scope: 'LABEL',
                Key: 'awswaf:managed:aws:core-rule-set:SizeRestrictions_Body',
              },
            },
            {
              NotStatement: {
                Statement: {
                  ByteMatchStatement: {
                    FieldToMatch: { UriPath: {} },
                    PositionalConstraint: 'CONTAINS',
                    SearchString: '/v1/public/hooks/',
                  },
                },
              },
            },
          ],
        },
      },
    });
    // Every partner webhook is under that path; unsubscribe (small forms) is not.
    for (const route of ROUTES.filter((r) => r.public)) {
      expect(route.path.includes('/v1/public/hooks/'), route.path).toBe(callerClass(route) === 'callback');
    }
  });
});

describe('cdk-nag acknowledgement of the public routes', () => {
  it('says for each public method who calls it, how it is verified and which throttle it has', () => {
    const acks = withWaf.stack.nagAcknowledgements.filter((a) => a.rule === 'AwsSolutions-APIG4');
    const publicRoutes = ROUTES.filter((r) => r.public);
    expect(acks).toHaveLength(publicRoutes.length);
    for (const route of publicRoutes) {
      const ack = acks.find((a) => a.reason.startsWith(`${route.method} ${route.path} is public`));
      expect(ack?.reason, `${route.method} ${route.path}`).toMatch(
        callerClass(route) === 'unsubscribe'
          ? /mail recipients.*HMAC-signed token.*unsubscribe throttle/
          : /(Twilio|Stripe|Shopify).*(Signature|HMAC).*provider-callback throttle/,
      );
    }
  });
});
