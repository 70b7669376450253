// cdk-nag's AwsSolutions checks pass on the stack as `cdk synth` builds it, with the smallest and the largest
// configuration; every accepted finding names its rule, resource and reason. Only this file turns nag on.
import { describe, expect, it } from 'vitest';
import { ALL_CHANNELS_CONTEXT, synth } from './synth.ts';

/** The rules the stack may acknowledge; a new one has to be argued for here and in lib/nag.ts. */
const ACCEPTED_RULES = new Set([
  'AwsSolutions-SQS3',
  'AwsSolutions-APIG2',
  'AwsSolutions-APIG3',
  // The public routes (/v1/public/, #13): authorization NONE, each verifies its own token or signature.
  'AwsSolutions-APIG4',
  'AwsSolutions-COG4',
  'AwsSolutions-IAM4',
  'AwsSolutions-IAM5',
  // The API cursor key (lib/nag.ts says why it has no rotation Lambda).
  'AwsSolutions-SMG4',
]);

describe('cdk-nag AwsSolutions', () => {
  it('passes with the cdk.json defaults and no API', () => {
    const { stack } = synth({}, { routes: null, nag: true });
    // Two job DLQs and the receipts DLQ, each a DLQ itself; the cursor key without a rotation Lambda; the
    // basic execution policy of the tables' deletion-protection provider. Run now invokes the job functions by
    // their unqualified ARN only (no `<ARN>:*` wildcard to acknowledge).
    expect(stack.nagAcknowledgements.map((a) => a.rule.replace(/\[.*\]$/, ''))).toEqual([
      'AwsSolutions-SQS3',
      'AwsSolutions-SQS3',
      'AwsSolutions-SQS3',
      'AwsSolutions-SMG4',
      'AwsSolutions-IAM4',
    ]);
  });

  it('passes with every channel, the API of shared/api/routes.ts and WAF; each acknowledgement on one resource with a reason', () => {
    const { stack } = synth({ ...ALL_CHANNELS_CONTEXT, apiWaf: true }, { nag: true });
    expect(stack.nagAcknowledgements.length).toBeGreaterThan(0);
    for (const ack of stack.nagAcknowledgements) {
      expect(ACCEPTED_RULES.has(ack.rule.replace(/\[.*\]$/, '')), ack.rule).toBe(true);
      expect(ack.path).toMatch(/^SessionRecovery-dev\/.+/);
      expect(ack.reason.length, ack.rule).toBeGreaterThan(40);
    }
    // APIG4 only on the methods under /v1/public/.
    const apig4 = stack.nagAcknowledgements.filter((a) => a.rule === 'AwsSolutions-APIG4');
    expect(apig4.length).toBeGreaterThanOrEqual(4);
    for (const ack of apig4) expect(ack.path).toContain('/v1/public/');
    // WAF on: the missing-WAF finding is not acknowledged.
    expect(stack.nagAcknowledgements.some((a) => a.rule === 'AwsSolutions-APIG3')).toBe(false);
  });

  it('says, for each policy wildcard, exactly which declared routes it grants', () => {
    const { stack } = synth({}, { nag: true });
    const iam5 = stack.nagAcknowledgements.filter((a) => a.rule.startsWith('AwsSolutions-IAM5'));
    const wildcards = iam5.filter((a) => a.rule.includes(':execute-api:'));
    expect(wildcards.length).toBeGreaterThan(10);
    // Every wildcard is an API route: run now's invoke names the job functions' unqualified ARNs.
    expect(iam5.filter((a) => !a.rule.includes(':execute-api:'))).toEqual([]);
    for (const ack of wildcards) {
      const specifier = ack.rule.replace(/^.*\/dev\//, '').replace(/\]$/, '');
      expect(ack.reason, ack.rule).toContain(`\`${specifier}\``);
    }
    // A trailing `*` reaches deeper paths in IAM: the reason names them, not only the route it was made for.
    const product = wildcards.find(
      (a) => a.path.includes('ProductPolicy') && a.rule.endsWith('/dev/GET/v1/sessions/*]'),
    );
    expect(product?.reason).toContain(
      'GET /v1/sessions/{id}, GET /v1/sessions/{id}/timeline, for any value of {id}',
    );
    const recipients = wildcards.find((a) => a.rule.endsWith('/dev/DELETE/v1/recipients/*/suppressions/*]'));
    expect(recipients?.reason).toContain(
      'one declared route: DELETE /v1/recipients/{address}/suppressions/{channel}, for any value of {address}, {channel}',
    );
  });
});
