// The IAM report's matching: a grant counts as exercised when an allowed call fits its action and resource
// pattern (`??????` of a secret, `:*` of a log group), and an unexercised one shows its documented reason.
import { describe, expect, it } from 'vitest';
import { grantRows, reasonToKeep } from '../../../local/iam-report.ts';

const policies = {
  region: 'us-east-1',
  account: '000000000000',
  functionNames: {},
  functions: {
    api: {
      P: {
        Statement: [
          {
            Effect: 'Allow' as const,
            Action: ['dynamodb:Query', 'dynamodb:GetItem'],
            Resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/{{prefix}}-sessions/index/byRecipient',
          },
          {
            Effect: 'Allow' as const,
            Action: 'secretsmanager:GetSecretValue',
            Resource: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:{{prefix}}/cursor-key-??????',
          },
          {
            Effect: 'Allow' as const,
            Action: 'logs:PutLogEvents',
            Resource: 'arn:aws:logs:us-east-1:000000000000:log-group:X:*',
          },
        ],
      },
    },
  },
};

describe('grantRows', () => {
  it('marks the grants the tests used, the ones kept for a reason, and the rest', () => {
    // Act
    const rows = grantRows(policies, {
      api: [
        'dynamodb:Query arn:aws:dynamodb:us-east-1:000000000000:table/{{prefix}}-sessions/index/byRecipient',
        'secretsmanager:GetSecretValue arn:aws:secretsmanager:us-east-1:000000000000:secret:{{prefix}}/cursor-key-LOCAL0',
      ],
    });
    // Assess
    const state = Object.fromEntries(
      rows.map((r) => [r.action, r.exercised ? 'exercised' : r.why ? 'kept' : 'unused']),
    );
    expect(state).toEqual({
      'dynamodb:Query': 'exercised',
      'dynamodb:GetItem': 'unused',
      'secretsmanager:GetSecretValue': 'exercised',
      'logs:PutLogEvents': 'kept',
    });
  });

  it("keeps the event source mapping's poll only on the function's own trigger queue, not on a DLQ or for another function", () => {
    const queue = (name: string) => `arn:aws:sqs:us-east-1:000000000000:{{prefix}}-${name}`;
    // Act + Assess
    expect(reasonToKeep('sender-sms', 'sqs:ReceiveMessage', queue('sms'))).toMatch(/event source mapping/);
    expect(reasonToKeep('ingest', 'sqs:DeleteMessage', queue('checkout-timers'))).toMatch(
      /event source mapping/,
    );
    expect(reasonToKeep('sender-sms', 'sqs:ReceiveMessage', queue('sms-dlq'))).toBeUndefined();
    expect(reasonToKeep('api-admin', 'sqs:ReceiveMessage', queue('sms'))).toBeUndefined();
    expect(reasonToKeep('sender-sms', 'sqs:ChangeMessageVisibility', queue('sms'))).toBeUndefined();
    expect(reasonToKeep('recovery-sweep', 'sqs:SendMessage', queue('recovery-sweep-dlq'))).toMatch(
      /onFailure/,
    );
    expect(reasonToKeep('recovery-sweep', 'sqs:SendMessage', queue('sms'))).toBeUndefined();
  });
});
