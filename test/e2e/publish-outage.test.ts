// A publish outage end to end on the local runtime (issue #10's acceptance): the whole service as npm start
// runs it (startLocalService on the shared emulators: sweep timer, queue pollers, the real senders, the SES
// emulator), 20 stalled sessions under a policy of 3 retries 2 s apart, and the email queue deleted for 60 s
// (DeleteQueue on the SQS emulator: what a lost queue or a lost sqs:SendMessage grant looks like to the sweep),
// then created again. During the outage no session exhausts, the sweep's job status shows the failures and
// readyz is not ok; afterwards every session has exactly 3 sent emails, in attempt order, each attempt at
// least the policy delay after the previous one left the outbox, and no notification was skipped as stale.
import { randomBytes } from 'node:crypto';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createChannelQueue } from '../../local/resources.ts';
import { type LocalService, startLocalService } from '../../local/runtime.ts';
import { getJobState } from '../../shared/repositories/jobs.ts';
import { createPolicy } from '../../shared/repositories/policies.ts';
import { getSession } from '../../shared/repositories/sessions.ts';
import { checkReadiness } from '../../shared/usecases/health.ts';
import { registerSession } from '../../shared/usecases/sessions.ts';
import { localAuthorizer } from '../support/context.ts';

const SESSIONS = 20;
const DELAY_SECONDS = 2;
const OUTAGE_MS = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Sent, or further along: the SES emulator's delivery receipts move `sent` to `delivered`. */
const REACHED = new Set(['sent', 'delivered', 'read']);

let service: LocalService;
const prefix = `o${randomBytes(4).toString('hex')}`;
const log: string[] = [];

beforeAll(async () => {
  service = await startLocalService({
    endpoints: inject('endpoints'),
    authorize: localAuthorizer(),
    prefix,
    port: 0,
    demo: false,
    sweepEverySeconds: 1,
    monitorEverySeconds: 3600,
    say: (source, message) => {
      if (log.length < 2000) log.push(`${source} ${message}`);
    },
  });
});

afterAll(async () => {
  await service?.stop();
});

async function timelineOf(sessionId: string): Promise<Array<Record<string, unknown>>> {
  const res = await service.ctx.ddb.send(
    new QueryCommand({
      TableName: service.ctx.tables.timeline,
      KeyConditionExpression: 'sessionId = :id',
      ExpressionAttributeValues: { ':id': sessionId },
      ConsistentRead: true,
    }),
  );
  return res.Items ?? [];
}

describe('a 60 s publish outage on the local runtime', () => {
  it('loses no reminder, stacks none, pages, and sends every session 3 emails in order once the queue is back', async () => {
    // Prepare
    const { ctx } = service;
    await createPolicy(
      ctx,
      {
        name: 'outage: 3 retries 2 s apart',
        orgId: 'outage',
        active: true,
        maxRetries: 3,
        initialDelaySeconds: DELAY_SECONDS,
        backoffMultiplier: 1,
        maxDelaySeconds: DELAY_SECONDS,
        jitter: 'none',
        enabledChannels: ['email'],
      },
      { triggeredBy: 'test', at: new Date() },
    );
    await ctx.sqs.send(new DeleteQueueCommand({ QueueUrl: ctx.queues.email.url }));
    const ids = Array.from({ length: SESSIONS }, (_, i) => `outage-${String(i).padStart(2, '0')}`);
    for (const sessionId of ids) {
      await registerSession(
        ctx,
        {
          sessionId,
          kind: 'checkout',
          status: 'stalled',
          orgId: 'outage',
          contact: { email: `${sessionId}@outage.example.com` },
        },
        { triggeredBy: 'test' },
      );
    }

    // Act: the outage, watched every 5 s.
    const started = Date.now();
    const exhaustedDuring: string[] = [];
    let worstFailures = 0;
    let readyzDuring = 'ok';
    while (Date.now() - started < OUTAGE_MS) {
      await sleep(5000);
      for (const id of ids) if ((await getSession(ctx, id))?.status === 'exhausted') exhaustedDuring.push(id);
      worstFailures = Math.max(worstFailures, (await getJobState(ctx, 'recovery-sweep')).consecutiveFailures);
      const ready = await checkReadiness(ctx);
      if (ready.status !== 'ok')
        readyzDuring = `${ready.status} (dispatch ${ready.components.dispatch.status})`;
    }
    const attemptsDuring = (await Promise.all(ids.map(timelineOf)))
      .flat()
      .filter((e) => e.type === 'attempt');
    await createChannelQueue(ctx.sqs, prefix, 'email');
    const deadline = Date.now() + 120_000;
    let settled = false;
    while (!settled && Date.now() < deadline) {
      await sleep(2000);
      const sessions = await Promise.all(ids.map((id) => getSession(ctx, id)));
      const timelines = await Promise.all(ids.map(timelineOf));
      settled =
        sessions.every((s) => s?.status === 'exhausted' && !s.pendingAttempt) &&
        timelines.every(
          (t) => t.filter((e) => e.type === 'notification' && REACHED.has(String(e.status))).length === 3,
        );
    }
    const timelines = await Promise.all(ids.map(timelineOf));
    const finals = await Promise.all(ids.map((id) => getSession(ctx, id)));

    // Assess: during the outage.
    expect(exhaustedDuring).toEqual([]);
    expect(attemptsDuring).toHaveLength(SESSIONS);
    expect(attemptsDuring.every((a) => a.number === 1 && a.state === 'queued')).toBe(true);
    expect(worstFailures).toBeGreaterThan(0);
    expect(readyzDuring).toMatch(/^error \(dispatch error\)/);
    // After it.
    const summary = timelines
      .map(
        (t, i) =>
          `${ids[i]}: ${t.map((e) => `${e.type}${e.number ?? ''}:${e.state ?? e.status ?? ''}${e.reason ? `(${e.reason})` : ''}`).join(' ')}`,
      )
      .join('\n');
    const states = finals
      .map((f) => `${f?.sessionId} ${f?.status} pending=${JSON.stringify(f?.pendingAttempt)}`)
      .join('\n');
    expect(settled, `${states}\n${summary}\n${log.slice(-30).join('\n')}`).toBe(true);
    for (const [i, timeline] of timelines.entries()) {
      const attempts = timeline
        .filter((e) => e.type === 'attempt')
        .sort((a, b) => Number(a.number) - Number(b.number));
      const notifications = timeline.filter((e) => e.type === 'notification');
      const sent = notifications
        .filter((n) => REACHED.has(String(n.status)))
        .sort((a, b) => String(a.at).localeCompare(String(b.at)));
      expect(
        attempts.map((a) => [a.number, a.state]),
        ids[i],
      ).toEqual([
        [1, 'dispatched'],
        [2, 'dispatched'],
        [3, 'dispatched'],
      ]);
      expect(
        sent.map((n) => n.number),
        ids[i],
      ).toEqual([1, 2, 3]);
      expect(
        notifications.filter((n) => n.reason === 'stale_fence'),
        ids[i],
      ).toEqual([]);
      for (let n = 1; n < attempts.length; n++) {
        const previousDispatch = Date.parse(String(attempts[n - 1]?.dispatchedAt));
        expect(
          Date.parse(String(attempts[n]?.at)) - previousDispatch,
          `${ids[i]} attempt ${n + 1}`,
        ).toBeGreaterThanOrEqual(DELAY_SECONDS * 1000);
      }
    }
    expect((await getJobState(ctx, 'recovery-sweep')).consecutiveFailures).toBe(0);
  }, 240_000);
});
