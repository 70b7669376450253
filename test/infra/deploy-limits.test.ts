// AWS's deploy limits on the synthesized stack, every channel and optional setting on (the largest template),
// measured as AWS measures them: CloudFormation's 500 resources, 200 outputs and 1 MB template (uploaded to
// S3 by `cdk deploy`); Lambda's 4 KB of environment per function (the JSON of the variables, as its error
// message shows it); IAM's 10,240 characters of inline policy per role and 6,144 per managed policy, without
// whitespace, with intrinsics resolved to deployed names and ARNs (test/infra/deployed.ts).
import { describe, expect, it } from 'vitest';
import { deployedResolver } from './deployed.ts';
import { ALL_CHANNELS_CONTEXT, type CfnResource, refOf, resourcesOfType, synth } from './synth.ts';

const CFN_MAX_RESOURCES = 500;
const CFN_MAX_OUTPUTS = 200;
const CFN_MAX_TEMPLATE_BYTES = 1_000_000;
const LAMBDA_MAX_ENV_BYTES = 4 * 1024;
const IAM_MAX_ROLE_INLINE_CHARS = 10_240;
const IAM_MAX_MANAGED_POLICY_CHARS = 6_144;

const { stack, json } = synth(ALL_CHANNELS_CONTEXT);
const { resolve } = deployedResolver(json as Parameters<typeof deployedResolver>[0], {
  stackName: stack.stackName,
});

/** IAM's size: the policy document's JSON without whitespace. */
const policyChars = (document: unknown) => JSON.stringify(resolve(document)).length;

describe('AWS deploy limits on the synthesized template', () => {
  it(`has at most ${CFN_MAX_RESOURCES} resources and ${CFN_MAX_OUTPUTS} outputs`, () => {
    expect(Object.keys(json.Resources).length).toBeLessThanOrEqual(CFN_MAX_RESOURCES);
    expect(Object.keys(json.Outputs ?? {}).length).toBeLessThanOrEqual(CFN_MAX_OUTPUTS);
  });

  it('is at most 1 MB as `cdk synth` writes it', () => {
    const bytes = Buffer.byteLength(JSON.stringify(json, undefined, 1));
    expect(bytes).toBeLessThanOrEqual(CFN_MAX_TEMPLATE_BYTES);
  });

  it('gives each function at most 4 KB of environment as deployed', () => {
    const functions = resourcesOfType(json, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(5);
    const sizes = Object.fromEntries(
      functions.map(([id, r]) => {
        const env = (r.Properties?.Environment as { Variables?: unknown } | undefined)?.Variables ?? {};
        return [id, Buffer.byteLength(JSON.stringify(resolve(env)))];
      }),
    );
    const over = Object.entries(sizes).filter(([, bytes]) => bytes > LAMBDA_MAX_ENV_BYTES);
    expect(over).toEqual([]);
  });

  it('keeps each role inline policies within 10,240 characters as deployed', () => {
    const roles = resourcesOfType(json, 'AWS::IAM::Role');
    expect(roles.length).toBeGreaterThan(5);
    const chars = new Map<string, number>(roles.map(([id, r]) => [id, ownInlineChars(r)]));
    for (const [, policy] of resourcesOfType(json, 'AWS::IAM::Policy')) {
      const size = policyChars(policy.Properties?.PolicyDocument);
      for (const role of (policy.Properties?.Roles as unknown[] | undefined) ?? []) {
        const id = refOf(role);
        if (id) chars.set(id, (chars.get(id) ?? 0) + size);
      }
    }
    const over = [...chars].filter(([, n]) => n > IAM_MAX_ROLE_INLINE_CHARS);
    expect(over).toEqual([]);
    // The measure is real: the largest role's policies are not empty.
    expect(Math.max(...chars.values())).toBeGreaterThan(1000);
  });

  it('keeps each managed policy within 6,144 characters as deployed', () => {
    const policies = resourcesOfType(json, 'AWS::IAM::ManagedPolicy');
    expect(policies.length).toBeGreaterThan(0);
    const over = policies
      .map(([id, r]) => [id, policyChars(r.Properties?.PolicyDocument)] as const)
      .filter(([, n]) => n > IAM_MAX_MANAGED_POLICY_CHARS);
    expect(over).toEqual([]);
  });
});

function ownInlineChars(role: CfnResource): number {
  const policies = (role.Properties?.Policies as { PolicyDocument?: unknown }[] | undefined) ?? [];
  return policies.reduce((sum, p) => sum + policyChars(p.PolicyDocument), 0);
}
