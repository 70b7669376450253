// A DLQ replay sends each matching message to the channel queue, then deletes it from the DLQ. A message
// whose delete failed was sent but is still dead-lettered: it is not "replayed" (a later replay sends it
// again; the senders are idempotent per attempt and channel, so the person gets it once). The answer counts
// only deleted messages and names the others (#18 item 8). fauxqs never fails a delete, so the failures are
// injected on the real client (test/support/sqs-faults.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { body, startTestApi, type TestApi } from '../api/support.ts';
import { putDeadLetters as putDeadLettersIn, queueDepth } from '../support/queues.ts';
import { injectDeleteFaults } from '../support/sqs-faults.ts';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});

afterAll(async () => {
  await api.stop();
});

function depth(url: string): Promise<number> {
  return queueDepth(api.ctx, url);
}

function putDeadLetters(sessionId: string, count: number): Promise<void> {
  return putDeadLettersIn(api.ctx, sessionId, count);
}

interface ReplayAnswer {
  matched: number;
  replayed: number;
  notDeleted: number;
  notDeletedMessages: Array<{ messageId: string; sessionId: string | null; error: string }>;
  messages: Array<{ messageId: string }>;
  total: { replayed: number; notDeleted?: number };
}

describe('DLQ replay when deleting from the DLQ fails', () => {
  it('counts only the deleted messages as replayed and names the ones sent but not deleted', async () => {
    // Prepare: four dead letters; the DLQ refuses every second delete.
    await putDeadLetters('del-a', 4);
    const faults = injectDeleteFaults(api.as('api-admin').sqs, (_, i) => i % 2 === 1);
    // Act
    const res = await api
      .call('POST', '/v1/admin/dlq/email/replay', { body: { sessionId: 'del-a', dryRun: false } })
      .finally(() => faults.remove());
    // Assess
    expect(res.status, res.text).toBe(200);
    const answer = body<ReplayAnswer>(res);
    expect(answer).toMatchObject({ matched: 4, replayed: 2, notDeleted: 2 });
    expect(answer.total).toMatchObject({ replayed: 2, notDeleted: 2 });
    expect(answer.notDeletedMessages).toHaveLength(2);
    expect(
      answer.notDeletedMessages.every((m) => m.sessionId === 'del-a' && m.error.includes('InternalError')),
    ).toBe(true);
    const ids = new Set(answer.messages.map((m) => m.messageId));
    expect(answer.notDeletedMessages.every((m) => ids.has(m.messageId))).toBe(true);
    // All four went to the channel queue; the two not deleted are still in the DLQ.
    expect(await depth(api.ctx.queues.email.url)).toBe(4);
    expect(await depth(api.ctx.queues.email.dlqUrl)).toBe(2);
  });

  it('a delete call that fails as a whole is reported, not a 500', async () => {
    // Prepare
    await putDeadLetters('del-b', 2);
    const before = await depth(api.ctx.queues.email.url);
    const faults = injectDeleteFaults(api.as('api-admin').sqs, () => 'call');
    // Act
    const res = await api
      .call('POST', '/v1/admin/dlq/email/replay', { body: { sessionId: 'del-b', dryRun: false } })
      .finally(() => faults.remove());
    // Assess
    expect(res.status, res.text).toBe(200);
    expect(body<ReplayAnswer>(res)).toMatchObject({ matched: 2, replayed: 0, notDeleted: 2 });
    expect(await depth(api.ctx.queues.email.url)).toBe(before + 2);
  });
});
