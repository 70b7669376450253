// Filtered DLQ replay through the API: only the matching session's dead letters go back to the channel
// queue, the others stay in the DLQ; a dry run moves nothing and reports the same `matched`.
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../shared/context.ts';
import { deadLetterBody, putDeadLetters as putDeadLettersIn, queueDepth } from '../support/queues.ts';
import { type ApiResponse, body, startTestApi, type TestApi } from './support.ts';

let api: TestApi;

function deadLetter(sessionId: string, n: number) {
  return deadLetterBody(sessionId, n);
}

function depth(url: string): Promise<number> {
  return queueDepth(api.ctx, url);
}

/** Every message of a queue (received, then deleted: the test reads the end state). */
async function drain(ctx: AppContext, url: string): Promise<string[]> {
  const sessions: string[] = [];
  for (;;) {
    const res = await ctx.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    if (!res.Messages?.length) return sessions.sort();
    for (const m of res.Messages) {
      sessions.push(JSON.parse(m.Body ?? '{}').sessionId);
      await ctx.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  }
}

function putDeadLetters(sessionId: string, count: number): Promise<void> {
  return putDeadLettersIn(api.ctx, sessionId, count);
}

function replay(request: Record<string, unknown>): Promise<ApiResponse> {
  return api.call('POST', '/v1/admin/dlq/email/replay', { body: request });
}

beforeAll(async () => {
  api = await startTestApi();
  // Two dead letters for each of three sessions; sess-b's deliveries failed with a Twilio-like error.
  for (const s of ['sess-a', 'sess-b', 'sess-c']) {
    for (const n of [1, 2]) {
      await api.ctx.sqs.send(
        new SendMessageCommand({
          QueueUrl: api.ctx.queues.email.dlqUrl,
          MessageBody: JSON.stringify(deadLetter(s, n)),
        }),
      );
      await api.ctx.ddb.send(
        new PutCommand({
          TableName: api.ctx.tables.timeline,
          Item: {
            sessionId: s,
            sk: `2026-03-02T10:00:00.000Z#notification#000${n}#email`,
            type: 'notification',
            attemptId: `att_${s}_${n}`,
            channel: 'email',
            status: 'sending',
            lastError: s === 'sess-b' ? 'Provider answered 503 Service Unavailable' : 'connect ETIMEDOUT',
          },
        }),
      );
    }
  }
});

afterAll(async () => {
  await api.stop();
});

describe('POST /v1/admin/dlq/{channel}/replay', () => {
  it('is a dry run by default: reports the matches and moves nothing', async () => {
    // Act
    const dry = await replay({ sessionId: 'sess-a' });
    // Assess
    expect(body(dry)).toMatchObject({ dryRun: true, matched: 2, replayed: 0 });
    // It looked at every message: the count is exact, nothing is left to continue.
    expect(body(dry)).toMatchObject({
      stoppedBy: 'drained',
      more: false,
      matchedIsLowerBound: false,
      nextCursor: null,
      remaining: 6,
      total: { matched: 2, replayed: 0, scanned: 6 },
    });
    expect(await depth(api.ctx.queues.email.dlqUrl)).toBe(6);
    expect(await depth(api.ctx.queues.email.url)).toBe(0);
  });

  it('filters by error text and respects the limit, still dry', async () => {
    // Act
    const byError = await replay({ errorContains: '503 service' });
    const limited = await replay({ limit: 1 });
    // Assess
    expect(body(byError)).toMatchObject({ matched: 2, replayed: 0 });
    expect(
      body<{ messages: Array<{ sessionId: string }> }>(byError).messages.map((m) => m.sessionId),
    ).toEqual(['sess-b', 'sess-b']);
    expect(body(limited)).toMatchObject({ matched: 1, replayed: 0 });
    // Stopped at its limit: more may match, and a dry run does not continue (it would see the same).
    expect(body(limited)).toMatchObject({
      stoppedBy: 'limit',
      more: true,
      matchedIsLowerBound: true,
      nextCursor: null,
    });
  });

  it('moves only the matching session’s messages; the other sessions’ stay in the DLQ', async () => {
    // Act
    const real = await replay({ sessionId: 'sess-a', dryRun: false });
    // Assess
    expect(body(real)).toMatchObject({ dryRun: false, matched: 2, replayed: 2 });
    expect(await drain(api.ctx, api.ctx.queues.email.url)).toEqual(['sess-a', 'sess-a']);
    expect(await drain(api.ctx, api.ctx.queues.email.dlqUrl)).toEqual([
      'sess-b',
      'sess-b',
      'sess-c',
      'sess-c',
    ]);
  });

  it('a real replay of one message per call continues with its cursor until done, totals carried', async () => {
    // Prepare: the DLQ was drained above; sess-d has two dead letters.
    await putDeadLetters('sess-d', 2);
    // Act: one per call.
    const answers: Array<Record<string, unknown>> = [];
    let cursor: string | null = null;
    do {
      const res = await replay({
        sessionId: 'sess-d',
        dryRun: false,
        limit: 1,
        ...(cursor ? { cursor } : {}),
      });
      expect(res.status, res.text).toBe(200);
      answers.push(body(res));
      cursor = body<{ nextCursor: string | null }>(res).nextCursor;
    } while (cursor && answers.length < 5);
    // Assess
    expect(answers[0]).toMatchObject({ replayed: 1, more: true, nextCursor: expect.any(String) });
    expect(answers.at(-1)).toMatchObject({ more: false, nextCursor: null });
    expect(answers.at(-1)?.total).toMatchObject({ matched: 2, replayed: 2 });
    expect(await drain(api.ctx, api.ctx.queues.email.url)).toEqual(['sess-d', 'sess-d']);
  });

  it('refuses a cursor given with other filters, on another channel, or altered (400 naming body.cursor)', async () => {
    // Prepare: sess-e's two letters; the first call moves one and hands back a cursor.
    await putDeadLetters('sess-e', 2);
    const first = await replay({ sessionId: 'sess-e', dryRun: false, limit: 1 });
    expect(body<{ nextCursor: string | null }>(first).nextCursor).toEqual(expect.any(String));
    const cursor = body<{ nextCursor: string }>(first).nextCursor;
    // Act
    const otherFilter = await replay({ sessionId: 'sess-a', dryRun: false, limit: 1, cursor });
    const otherChannel = await api.call('POST', '/v1/admin/dlq/sms/replay', {
      body: { sessionId: 'sess-e', dryRun: false, limit: 1, cursor },
    });
    const altered = await replay({ sessionId: 'sess-e', dryRun: false, limit: 1, cursor: `${cursor}x` });
    // Assess
    for (const res of [otherFilter, otherChannel, altered]) {
      expect(res.status).toBe(400);
      expect(res.text).toContain('body.cursor');
    }
  });
});
