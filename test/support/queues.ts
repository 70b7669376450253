// Reading what a test's queue holds: every message once (hidden for 5 real minutes, so nothing is
// received twice), bodies parsed as JSON for the caller to check against its schema.
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
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
