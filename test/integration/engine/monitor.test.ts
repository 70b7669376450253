// The timeout monitor against the emulators: sessions registered through the product's use case, a clock
// moved by hand, and the stored items, timeline and channel queues read back to check what the design
// promises (data kept, one ops alert per run, dry runs change nothing).

import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ResetStuckBody } from '../../../shared/api/schemas.ts';
import type { AppContext } from '../../../shared/context.ts';
import { DomainError } from '../../../shared/domain/errors.ts';
import { type OpsAlertMessage, OpsAlertMessageSchema } from '../../../shared/messages.ts';
import { parse } from '../../../shared/schema.ts';
import { DEFAULT_SETTINGS, type Settings } from '../../../shared/settings.ts';
import {
  type RegisterSessionInput,
  recoverTimedOut,
  registerSession,
  resetStuckSessions,
} from '../../../shared/usecases/sessions.ts';
import { type MonitorEvent, runTimeoutMonitor } from '../../../shared/usecases/timeout-monitor.ts';
import { asFunction, createTestContext, manualClock } from '../../support/context.ts';
import { receiveAllBodies } from '../../support/queues.ts';
import { scanAll } from '../../support/seed.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const MINUTE = 60_000;
const MB = 1024 * 1024;
const OPS = { email: ['oncall@example.com'], slack: ['#ops'] };

async function monitorContext(settings: Partial<Settings> = {}) {
  const clock = manualClock(T0);
  const { ctx } = await createTestContext({ clock: clock.clock, shards: 2 });
  const withSettings: AppContext = {
    ...ctx,
    settings: { ...DEFAULT_SETTINGS, opsRecipients: OPS, ...settings },
  };
  return { ctx: withSettings, clock };
}

function processing(sessionId: string, extra: Partial<RegisterSessionInput> = {}): RegisterSessionInput {
  return { sessionId, kind: 'transcription', status: 'processing', ...extra };
}

async function registerAll(ctx: AppContext, inputs: RegisterSessionInput[]): Promise<void> {
  for (const input of inputs) await registerSession(ctx, input, { triggeredBy: 'product' });
}

/** The stored item as DynamoDB holds it, not as the schema reads it. */
async function stored(ctx: AppContext, sessionId: string): Promise<Record<string, unknown>> {
  const res = await ctx.ddb.send(
    new GetCommand({ TableName: ctx.tables.sessions, Key: { sessionId }, ConsistentRead: true }),
  );
  if (!res.Item) throw new Error(`no item ${sessionId}`);
  return res.Item;
}

async function timeline(ctx: AppContext, sessionId: string): Promise<Array<Record<string, unknown>>> {
  return (await scanAll(ctx, ctx.tables.timeline)).filter((e) => e.sessionId === sessionId);
}

async function drain(ctx: AppContext, url: string): Promise<OpsAlertMessage[]> {
  return (await receiveAllBodies(ctx, url)).map((body) => parse(OpsAlertMessageSchema, body));
}

describe('timeout monitor', () => {
  it('times out sessions past their deadline keeping every attribute, and leaves the others alone', async () => {
    // Prepare
    const { ctx, clock } = await monitorContext();
    await registerAll(ctx, [
      processing('late-1', {
        orgId: 'acme',
        contact: {
          email: 'ada@example.com',
          webhookUrl: 'https://product.example.com/hooks',
          timezone: 'Europe/Paris',
        },
        recoveryUrl: 'https://product.example.com/jobs/late-1',
        sizeBytes: 512, // 29 ms more than the base 30 min
        metadata: { upload: { parts: 3, codec: 'opus' }, tags: ['a', 'b'] },
      }),
      processing('big-1', { sizeBytes: 60 * MB }), // deadline +90 min
    ]);
    clock.advance(20 * MINUTE);
    await registerAll(ctx, [processing('fresh-1')]); // deadline T0 +50 min
    clock.advance(11 * MINUTE);
    const before = {
      late: await stored(ctx, 'late-1'),
      big: await stored(ctx, 'big-1'),
      fresh: await stored(ctx, 'fresh-1'),
    };
    const events: MonitorEvent[] = [];

    // Act
    const run = await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), {
      trigger: 'test',
      onEvent: (e) => events.push(e),
    });

    // Assess
    const now = clock.clock().toISOString();
    const { deadlineShard, ...kept } = before.late;
    expect(deadlineShard).toBeDefined();
    expect(await stored(ctx, 'late-1')).toEqual({
      ...kept,
      status: 'timed_out',
      version: (before.late.version as number) + 1,
      updatedAt: now,
      previousStatus: 'processing',
      timedOutAt: now,
      error: `processing exceeded its deadline (${before.late.deadlineAt}) after 31 min`,
      // The status changed, so its byStatus entry moved: same shard, the new status, entered now.
      statusShard: String(kept.statusShard).replace('processing#', 'timed_out#'),
      statusKey: `${now}#late-1`,
    });
    expect(await stored(ctx, 'big-1')).toEqual(before.big);
    expect(await stored(ctx, 'fresh-1')).toEqual(before.fresh);
    const lateEvents = (await timeline(ctx, 'late-1')).filter((e) => e.type === 'timed_out');
    expect(lateEvents).toEqual([
      expect.objectContaining({
        type: 'timed_out',
        at: now,
        deadlineAt: before.late.deadlineAt,
        triggeredBy: 'timeout-monitor/test',
        error: expect.stringContaining('exceeded its deadline'),
      }),
    ]);
    expect((await timeline(ctx, 'big-1')).map((e) => e.type)).toEqual(['registered']);
    expect(run).toMatchObject({ status: 'succeeded', counts: { timedOut: 1, errors: 0 } });
    expect(events.filter((e) => e.type === 'timed_out')).toEqual([
      { type: 'timed_out', sessionId: 'late-1', minutesProcessing: 31, deadlineAt: before.late.deadlineAt },
    ]);
  });

  it('gives a bigger session a later deadline, capped, and times each out at its own deadline', async () => {
    // Prepare
    const { ctx, clock } = await monitorContext();
    await registerAll(ctx, [
      processing('size-0'),
      processing('size-30mb', { sizeBytes: 30 * MB }),
      processing('size-1gb', { sizeBytes: 1024 * MB }),
    ]);
    const timedOutAt = async (minutes: number) => {
      clock.set(new Date(new Date(T0).getTime() + minutes * MINUTE).toISOString());
      const ids: string[] = [];
      await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), {
        trigger: 'test',
        onEvent: (e) => e.type === 'timed_out' && ids.push(e.sessionId),
      });
      return ids;
    };

    // Act
    const deadlines = [
      (await stored(ctx, 'size-0')).deadlineAt,
      (await stored(ctx, 'size-30mb')).deadlineAt,
      (await stored(ctx, 'size-1gb')).deadlineAt,
    ];
    const at45 = await timedOutAt(45);
    const at61 = await timedOutAt(61);
    const at119 = await timedOutAt(119);
    const at121 = await timedOutAt(121);

    // Assess
    expect(deadlines).toEqual([
      '2026-03-02T10:30:00.000Z',
      '2026-03-02T11:00:00.000Z',
      '2026-03-02T12:00:00.000Z',
    ]);
    expect([at45, at61, at119, at121]).toEqual([['size-0'], ['size-30mb'], [], ['size-1gb']]);
  });

  it('sends one ops alert per run and channel, not one per session; a run with nothing new sends none', async () => {
    // Prepare
    const { ctx, clock } = await monitorContext();
    const ids = ['t-1', 't-2', 't-3', 't-4', 't-5'];
    await registerAll(
      ctx,
      ids.map((id) => processing(id)),
    );
    clock.advance(31 * MINUTE);

    // Act
    const first = await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), { trigger: 'test' });
    const firstEmail = await drain(ctx, ctx.queues.email.url);
    const firstSlack = await drain(ctx, ctx.queues.slack.url);
    clock.advance(5 * MINUTE);
    const second = await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), { trigger: 'test' });
    const secondEmail = await drain(ctx, ctx.queues.email.url);
    const secondSlack = await drain(ctx, ctx.queues.slack.url);

    // Assess
    expect(first.counts).toMatchObject({ timedOut: 5, alerts: 2 });
    expect(first.channels).toEqual(['email', 'slack']);
    expect(firstEmail).toEqual([
      expect.objectContaining({
        type: 'ops_alert',
        templateId: 'ops_alert',
        channel: 'email',
        recipient: 'oncall@example.com',
        source: 'timeout-monitor',
        alertId: first.runId,
        summary: expect.stringContaining('5 session(s) timed out'),
      }),
    ]);
    expect([...((firstEmail[0]?.data.timedOut ?? []) as string[])].sort()).toEqual(ids);
    expect(firstEmail[0]?.data.timedOutCount).toBe(5);
    expect(firstSlack).toEqual([
      expect.objectContaining({
        type: 'ops_alert',
        channel: 'slack',
        recipient: '#ops',
        alertId: first.runId,
      }),
    ]);
    expect(await drain(ctx, ctx.queues.sms.url)).toEqual([]);
    expect(second.counts).toMatchObject({ selected: 0, timedOut: 0, alerts: 0 });
    expect([secondEmail, secondSlack]).toEqual([[], []]);
  });

  it('raises one alert when more sessions than maxLongRunning run past their warning, none at the threshold', async () => {
    // Prepare: warning at +15 min, deadline at +30 min; three start at T0, a fourth 5 minutes later.
    const { ctx, clock } = await monitorContext({ maxLongRunning: 3 });
    await registerAll(ctx, [processing('long-1'), processing('long-2'), processing('long-3')]);
    clock.advance(5 * MINUTE);
    await registerAll(ctx, [processing('long-4')]);

    // Act
    clock.set('2026-03-02T10:17:00.000Z');
    const atThreshold = await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), { trigger: 'test' });
    const quiet = await drain(ctx, ctx.queues.email.url);
    clock.set('2026-03-02T10:21:00.000Z');
    const over = await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), { trigger: 'test' });
    const alerted = await drain(ctx, ctx.queues.email.url);

    // Assess
    expect(atThreshold.counts).toMatchObject({ longRunning: 3, timedOut: 0, alerts: 0 });
    expect(quiet).toEqual([]);
    expect(over.counts).toMatchObject({ longRunning: 4, timedOut: 0, alerts: 2 });
    expect(alerted).toEqual([
      expect.objectContaining({
        severity: 'critical',
        summary: '4 running long (threshold 3)',
        data: expect.objectContaining({ longRunning: 4, timedOutCount: 0 }),
      }),
    ]);
    for (const id of ['long-1', 'long-2', 'long-3', 'long-4']) {
      expect((await stored(ctx, id)).status).toBe('processing');
    }
  });

  it('counts as running long only the sessions still before their deadline', async () => {
    // Prepare: one session past its deadline, three past their warning only; the threshold is three.
    const { ctx, clock } = await monitorContext({ maxLongRunning: 3 });
    await registerAll(ctx, [processing('over-1')]); // deadline 10:30
    clock.advance(10 * MINUTE);
    await registerAll(ctx, [processing('warn-1'), processing('warn-2'), processing('warn-3')]); // warn 10:25
    clock.set('2026-03-02T10:31:00.000Z');
    const longRunning: string[] = [];

    // Act
    const run = await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), {
      trigger: 'test',
      onEvent: (e) => e.type === 'long_running' && longRunning.push(e.sessionId),
    });
    const [alert] = await drain(ctx, ctx.queues.email.url);

    // Assess: the timed-out one is reported as timed out, not also as running long.
    expect(run.counts.timedOut).toBe(1);
    expect(longRunning.sort()).toEqual(['warn-1', 'warn-2', 'warn-3']);
    expect(run.counts.longRunning).toBe(3);
    expect(alert).toMatchObject({
      severity: 'warning',
      summary: '1 session(s) timed out; 3 running long (threshold 3)',
    });
  });

  it('a dry run changes nothing and lists what it would time out', async () => {
    // Prepare
    const { ctx, clock } = await monitorContext();
    await registerAll(ctx, [
      processing('dry-1'),
      processing('dry-2'),
      processing('dry-big', { sizeBytes: 60 * MB }),
    ]);
    clock.advance(40 * MINUTE);
    const sessionsBefore = await scanAll(ctx, ctx.tables.sessions);
    const timelineBefore = await scanAll(ctx, ctx.tables.timeline);

    // Act
    const run = await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), {
      trigger: 'test',
      dryRun: true,
    });

    // Assess
    expect(run).toMatchObject({ dryRun: true, status: 'succeeded', counts: { timedOut: 0, alerts: 0 } });
    expect([...(run.wouldProcess ?? [])].sort()).toEqual(['dry-1', 'dry-2']);
    expect(await scanAll(ctx, ctx.tables.sessions)).toEqual(sessionsBefore);
    expect(await scanAll(ctx, ctx.tables.timeline)).toEqual(timelineBefore);
    expect(await drain(ctx, ctx.queues.email.url)).toEqual([]);
  });

  it('an operator recovers a timed-out session: back to processing with a new deadline, watched again', async () => {
    // Prepare
    const { ctx, clock } = await monitorContext();
    await registerAll(ctx, [processing('rec-1', { sizeBytes: 10 * MB })]); // deadline 10:40
    clock.set('2026-03-02T10:41:00.000Z');
    await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), { trigger: 'test' });
    const timedOut = await stored(ctx, 'rec-1');
    clock.set('2026-03-02T11:00:00.000Z');

    // Act
    const recovered = await recoverTimedOut(ctx, 'rec-1', { triggeredBy: 'ops@example.com' }, 1);
    const notTimedOut = await recoverTimedOut(ctx, 'rec-1', { triggeredBy: 'ops@example.com' }).catch(
      (error: unknown) => error,
    );
    clock.set('2026-03-02T11:39:00.000Z');
    const beforeNewDeadline = await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), {
      trigger: 'test',
    });
    clock.set('2026-03-02T11:41:00.000Z');
    const afterNewDeadline = await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), { trigger: 'test' });

    // Assess
    expect(timedOut).toMatchObject({ status: 'timed_out', version: 1 });
    expect(recovered).toMatchObject({
      status: 'processing',
      version: 2,
      processingStartedAt: '2026-03-02T11:00:00.000Z',
      deadlineAt: '2026-03-02T11:40:00.000Z',
      warnAt: '2026-03-02T11:15:00.000Z',
      sizeBytes: 10 * MB,
      deadlineShard: expect.any(String),
    });
    expect(notTimedOut).toBeInstanceOf(DomainError);
    expect(notTimedOut).toMatchObject({ code: 'illegal_transition' });
    expect(beforeNewDeadline.counts.timedOut).toBe(0);
    expect(afterNewDeadline.counts.timedOut).toBe(1);
    expect((await timeline(ctx, 'rec-1')).map((e) => e.type)).toEqual([
      'registered',
      'timed_out',
      'recovered_by_operator',
      'timed_out',
    ]);
  });

  it('resetStuckSessions is a dry run by default; executed, it times the matches out with a reset event', async () => {
    // Prepare: three sessions started at 10:00, one at 10:50; at 11:00, "older than 45 min" means the three.
    const { ctx, clock } = await monitorContext();
    await registerAll(ctx, [processing('stuck-1'), processing('stuck-2'), processing('stuck-3')]);
    clock.set('2026-03-02T10:50:00.000Z');
    await registerAll(ctx, [processing('recent-1')]);
    clock.set('2026-03-02T11:00:00.000Z');
    const sessionsBefore = await scanAll(ctx, ctx.tables.sessions);
    const timelineBefore = await scanAll(ctx, ctx.tables.timeline);
    const audit = { triggeredBy: 'ops@example.com', reason: 'incident 7' };

    // Act
    const dry = await resetStuckSessions(ctx, parse(ResetStuckBody, { olderThanMinutes: 45 }), audit);
    const sessionsAfterDry = await scanAll(ctx, ctx.tables.sessions);
    const timelineAfterDry = await scanAll(ctx, ctx.tables.timeline);
    const executed = await resetStuckSessions(ctx, { olderThanMinutes: 45, dryRun: false }, audit);

    // Assess
    expect(dry.dryRun).toBe(true);
    expect(dry.changed).toBe(0);
    expect([...dry.matched].sort((a, b) => a.sessionId.localeCompare(b.sessionId))).toEqual([
      { sessionId: 'stuck-1', minutesStuck: 60 },
      { sessionId: 'stuck-2', minutesStuck: 60 },
      { sessionId: 'stuck-3', minutesStuck: 60 },
    ]);
    expect(sessionsAfterDry).toEqual(sessionsBefore);
    expect(timelineAfterDry).toEqual(timelineBefore);
    expect(executed).toMatchObject({ dryRun: false, changed: 3 });
    for (const id of ['stuck-1', 'stuck-2', 'stuck-3']) {
      const item = await stored(ctx, id);
      expect(item).toMatchObject({
        status: 'timed_out',
        previousStatus: 'processing',
        timedOutAt: '2026-03-02T11:00:00.000Z',
        error: 'reset by operator after 60 min in processing',
        processingStartedAt: T0,
      });
      expect(item.deadlineShard).toBeUndefined();
      expect((await timeline(ctx, id)).filter((e) => e.type === 'reset')).toEqual([
        expect.objectContaining({ triggeredBy: 'ops@example.com', reason: 'incident 7' }),
      ]);
    }
    expect((await stored(ctx, 'recent-1')).status).toBe('processing');
  });

  it('honours its limit: more deadline-passed sessions than the limit take several runs, each saying more remain', async () => {
    // Prepare: 7 sessions past their deadline over 2 shards, a limit of 3
    const { ctx, clock } = await monitorContext();
    await registerAll(
      ctx,
      Array.from({ length: 7 }, (_, i) => processing(`over-${i}`)),
    );
    clock.advance(45 * MINUTE);

    // Act
    const first = await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), { trigger: 'test', limit: 3 });
    const second = await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), { trigger: 'test', limit: 3 });
    const third = await runTimeoutMonitor(asFunction(ctx, 'timeout-monitor'), { trigger: 'test', limit: 3 });

    // Assert: at most the limit per run, the record says when more wait, and nothing is left behind
    expect([first.counts.selected, first.counts.timedOut, first.moreRemain]).toEqual([3, 3, true]);
    expect([second.counts.selected, second.counts.timedOut, second.moreRemain]).toEqual([3, 3, true]);
    expect([third.counts.selected, third.counts.timedOut, third.moreRemain ?? false]).toEqual([1, 1, false]);
    for (let i = 0; i < 7; i++) expect((await stored(ctx, `over-${i}`)).status).toBe('timed_out');
  });
});
