// A deployed sender (functions/sender-slack.ts, wired from env as in Lambda) logs like every other function:
// each line of an invocation carries its request id and whether it was a cold start (the shared logger
// middleware), so one delivery's lines can be found in CloudWatch Logs Insights by request id.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { functionEnv } from '../../../local/local-env.ts';
import { type LocalReceivers, startLocalReceivers } from '../../../local/receivers.ts';
import { createTestContext } from '../../support/context.ts';
import { putSession, recoveryMessage } from './fixtures.ts';

// As Lambda sets it for an on-demand function, before any module builds the logger (Powertools reads it
// once, at construction, to tell a cold start).
// The log level too: the test's own context (local IAM's function keys) already imports the shared logger.
vi.hoisted(() => {
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
});

let receivers: LocalReceivers;
const test = await createTestContext();

beforeAll(async () => {
  receivers = await startLocalReceivers();
  Object.assign(process.env, functionEnv(test.endpoints, test.names), {
    ENABLED_CHANNELS: 'slack',
    SLACK_WEBHOOK_URL: receivers.urls.slack,
    POWERTOOLS_LOG_LEVEL: 'INFO',
  });
});
afterAll(async () => {
  await receivers.stop();
});

function lambdaContext(awsRequestId: string): Context {
  return {
    awsRequestId,
    functionName: 'session-recovery-test-sender-slack',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:session-recovery-test-sender-slack',
    memoryLimitInMB: '256',
    logGroupName: '/aws/lambda/session-recovery-test-sender-slack',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 10_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

async function slackEvent(): Promise<SQSEvent> {
  const message = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
  await putSession(test.ctx, message.sessionId);
  const body = JSON.stringify(message);
  await test.ctx.sqs.send(new SendMessageCommand({ QueueUrl: test.ctx.queues.slack.url, MessageBody: body }));
  return {
    Records: [{ messageId: `m-${message.sessionId}`, receiptHandle: 'rh', body, attributes: {} }],
  } as unknown as SQSEvent;
}

/** Runs one invocation and returns the JSON log lines it wrote to stdout. */
async function invoke(
  handler: (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>,
  requestId: string,
): Promise<Array<Record<string, unknown>>> {
  const event = await slackEvent();
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    const response = await handler(event, lambdaContext(requestId));
    expect(response.batchItemFailures).toEqual([]);
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('deployed sender logs', () => {
  it('every line of an invocation carries the request id, and cold_start is true on the first only', async () => {
    // Prepare
    const { handler } = await import('../../../functions/sender-slack.ts');
    // Act
    const first = await invoke(handler, 'req-sender-1');
    const second = await invoke(handler, 'req-sender-2');
    // Assess
    const sent = (lines: Array<Record<string, unknown>>) =>
      lines.find((l) => l.message === 'notification sent');
    expect(sent(first)).toMatchObject({ function_request_id: 'req-sender-1', cold_start: true });
    expect(sent(second)).toMatchObject({ function_request_id: 'req-sender-2', cold_start: false });
    for (const line of [...first, ...second])
      expect(line.function_request_id, String(line.message)).toMatch(/^req-sender-[12]$/);
  });
});
