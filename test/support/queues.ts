// Reading what a test's queue holds: every message once (hidden for 5 real minutes, so nothing is
// received twice), bodies parsed as JSON for the caller to check against its schema.
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { AppContext } from '../../shared/context.ts';

export async function receiveAllBodies(ctx: AppContext, url: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (;;) {
    const res = await ctx.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 300,
      }),
    );
    if (!res.Messages?.length) return out;
    for (const m of res.Messages) out.push(JSON.parse(m.Body ?? '{}'));
  }
}

/** Messages a queue holds, visible and in flight (SQS's approximate counts). */
export async function queueDepth(ctx: AppContext, url: string): Promise<number> {
  const res = await ctx.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(res.Attributes?.ApproximateNumberOfMessages) +
    Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

/** The body of an email recovery message as it sits in a DLQ: attempt `n` of a session. */
export function deadLetterBody(sessionId: string, n: number) {
  return {
    v: 1,
    type: 'recovery',
    attemptId: `att_${sessionId}_${n}`,
    sessionId,
    number: n,
    maxRetries: 3,
    fence: n,
    attemptAt: '2026-03-02T10:00:00.000Z',
    channel: 'email',
    recipient: `${sessionId}@example.com`,
    templateId: 'recovery_attempt',
    data: {},
    createdAt: '2026-03-02T10:00:00.000Z',
  };
}

/** Puts attempts 1..count of a session's email recovery message in the email DLQ. */
export async function putDeadLetters(ctx: AppContext, sessionId: string, count: number): Promise<void> {
  for (let n = 1; n <= count; n++) {
    await ctx.sqs.send(
      new SendMessageCommand({
        QueueUrl: ctx.queues.email.dlqUrl,
        MessageBody: JSON.stringify(deadLetterBody(sessionId, n)),
      }),
    );
  }
}
