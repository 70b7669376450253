import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../bin/ops.ts';
import { functionEnv } from '../../../local/local-env.ts';
import { recipientKeyOf } from '../../../shared/domain/recipient-key.ts';
import { SessionSchema } from '../../../shared/domain/session.ts';
import { getSession, staleIndexKeys, withIndexKeys } from '../../../shared/repositories/sessions.ts';
import { parse } from '../../../shared/schema.ts';
import { backfillIndexKeys } from '../../../shared/usecases/index-backfill.ts';
import { findSessionsByRecipient } from '../../../shared/usecases/session-lookup.ts';
import { registerSession, resetStuckSessions } from '../../../shared/usecases/sessions.ts';
import { createTestContext } from '../../support/context.ts';
import { attemptItems, batchPut, scanAll, seedSessions, stalledSession } from '../../support/seed.ts';

/** Runs the CLI against the deployment named by env, as an operator's shell would, capturing stdout. */
async function cli(
  env: Record<string, string>,
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  let out = '';
  let progress = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    progress += String(chunk);
    return true;
  });
  try {
    return { code: await runCli(argv), out, err: progress };
  } finally {
    write.mockRestore();
    err.mockRestore();
    process.env = saved;
  }
}

describe('ops CLI', () => {
  it('sweeps once against the tables named in env: --dry-run lists, a real run claims', async () => {
    // Prepare
    const { ctx, names, endpoints } = await createTestContext();
    const env = functionEnv(endpoints, names);
    await seedSessions(ctx, [stalledSession('cli-1', '2020-01-01T00:00:00.000Z')]);

    // Act
    const dry = await cli(env, 'sweep', '--once', '--dry-run');
    const attemptsAfterDry = (await attemptItems(ctx)).length;
    const real = await cli(env, 'sweep', '--once', '--limit', '10');

    // Assess
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/dry run: nothing changed/);
    expect(dry.out).toMatch(/would process: cli-1/);
    expect(attemptsAfterDry).toBe(0);
    expect(real.code).toBe(0);
    expect(real.out).toMatch(/claimed 1/);
    expect((await getSession(ctx, 'cli-1'))?.retryCount).toBe(1);
  });

  it('reset-stuck lists without --execute and times out with it; pause and status show the kill switch', async () => {
    // Prepare
    const { ctx, names, endpoints } = await createTestContext();
    const env = functionEnv(endpoints, names);
    await registerSession(
      ctx,
      {
        sessionId: 'cli-stuck',
        kind: 'transcription',
        status: 'processing',
        processingStartedAt: new Date(Date.now() - 3 * 3600_000).toISOString(),
      },
      { triggeredBy: 'test' },
    );

    // Act
    const listed = await cli(env, 'reset-stuck', '--older-than', '60');
    const statusAfterList = (await getSession(ctx, 'cli-stuck'))?.status;
    const executed = await cli(env, 'reset-stuck', '--older-than', '60', '--execute');
    const paused = await cli(env, 'pause', 'recovery-sweep', '--reason', 'incident');
    const status = await cli(env, 'status');

    // Assess
    expect(listed.out).toMatch(/1 stuck session\(s\) — dry run/);
    expect(listed.out).toMatch(/cli-stuck\s+18\d min/);
    expect(statusAfterList).toBe('processing');
    expect(executed.out).toMatch(/1 timed out/);
    expect((await getSession(ctx, 'cli-stuck'))?.status).toBe('timed_out');
    expect(paused.out).toMatch(/recovery-sweep is paused/);
    expect(status.out).toMatch(/recovery-sweep\s+PAUSED/);
    expect(status.out).toMatch(/dlq email\s+depth 0/);
  });

  it('reset-stuck follows the continuation batch by batch, printing progress, until every match is done', async () => {
    // Prepare: five stuck sessions, two per batch.
    const { ctx, names, endpoints } = await createTestContext();
    const env = functionEnv(endpoints, names);
    for (let i = 0; i < 5; i++) {
      await registerSession(
        ctx,
        {
          sessionId: `cli-batch-${i}`,
          kind: 'transcription',
          status: 'processing',
          processingStartedAt: new Date(Date.now() - 3 * 3600_000).toISOString(),
        },
        { triggeredBy: 'test' },
      );
    }

    // Act
    const listed = await cli(env, 'reset-stuck', '--older-than', '60', '--limit', '2');
    const executed = await cli(env, 'reset-stuck', '--older-than', '60', '--limit', '2', '--execute');

    // Assess
    expect(listed.err).toMatch(/batch 1: matched 2 \(so far 2 matched\), continuing…/);
    expect(listed.err).toMatch(/batch 3: matched 1 \(so far 5 matched\)\n/);
    expect(listed.out).toMatch(/5 stuck session\(s\) — dry run/);
    expect(listed.out.match(/cli-batch-\d/g)?.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `cli-batch-${i}`));
    expect(executed.out).toMatch(/5 stuck session\(s\), 5 timed out/);
    expect(executed.err).toMatch(/batch 3: matched 1, timed out 1 \(so far 5 matched, 5 timed out\)/);
    for (let i = 0; i < 5; i++) expect((await getSession(ctx, `cli-batch-${i}`))?.status).toBe('timed_out');
  });

  it('replay-dlq --execute continues call after call, printing progress, until the DLQ has no match left', async () => {
    // Prepare: five dead letters of one session; two per call.
    const { ctx, names, endpoints } = await createTestContext();
    const env = functionEnv(endpoints, names);
    for (let i = 0; i < 5; i++) {
      await ctx.sqs.send(
        new SendMessageCommand({
          QueueUrl: ctx.queues.email.dlqUrl,
          MessageBody: JSON.stringify({ sessionId: 'cli-dead', attemptId: `att_cli_${i}` }),
        }),
      );
    }

    // Act
    const dry = await cli(env, 'replay-dlq', '--channel', 'email', '--limit', '2');
    const executed = await cli(env, 'replay-dlq', '--channel', 'email', '--limit', '2', '--execute');

    // Assess: a dry run does not continue and says its count is partial; the real one moves all five.
    expect(dry.out).toMatch(/matched 2\+ \(stopped by its limit: more may match\), replayed 0 — dry run/);
    expect(dry.err).not.toMatch(/continuing/);
    expect(executed.err).toMatch(
      /call 1: scanned \d+, matched 2, replayed 2, stopped by limit, 3 left in the DLQ, continuing…/,
    );
    expect(executed.err).toMatch(/call 3: .*replayed 1, stopped by drained, 0 left in the DLQ\n/);
    expect(executed.out).toMatch(/matched 5, replayed 5\n/);
  });

  it('refuses bad arguments with exit code 2 and a clear message, changing nothing', async () => {
    // Prepare
    const { names, endpoints } = await createTestContext();
    const env = functionEnv(endpoints, names);

    // Act / Assess
    await expect(cli(env, 'sweep')).rejects.toThrow(/pass --once/);
    await expect(cli(env, 'reset-stuck', '--older-than', 'soon')).rejects.toThrow(/older-than/);
    await expect(cli(env, 'pause', 'nightly-job')).rejects.toThrow(/name a job/);
    await expect(cli(env, 'frobnicate')).rejects.toThrow(/unknown command/);
  });
});

describe('ops CLI: backfill indexes', () => {
  it('makes sessions stored before the index upgrades visible to reset-stuck and recipient lookup; dry run changes nothing; a cursor resumes', async () => {
    // Prepare: two sessions written the old way (no statusShard/statusKey, byRecipient sorted by updatedAt so
    // no recipientSortKey), and current ones.
    const { ctx, names, endpoints } = await createTestContext();
    const env = functionEnv(endpoints, names);
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
    const oldForm = (s: ReturnType<typeof stalledSession>) => {
      const { statusShard: _s, statusKey: _k, recipientSortKey: _r, ...rest } = withIndexKeys(s, ctx.shards);
      return rest;
    };
    const stuck = stalledSession('bf-stuck', hoursAgo(3), {
      status: 'processing',
      nextRetryAt: undefined,
      processingStartedAt: hoursAgo(3),
      // Reported on ten minutes ago: its byStatus key must still say when it started processing.
      updatedAt: hoursAgo(1 / 6),
    });
    const mail = stalledSession('bf-mail', hoursAgo(-1), {
      contact: { email: 'backfill.customer@example.com' },
    });
    await batchPut(ctx, ctx.tables.sessions, [oldForm(stuck), oldForm(mail)]);
    await registerSession(
      ctx,
      {
        sessionId: 'bf-current',
        kind: 'transcription',
        status: 'processing',
        processingStartedAt: hoursAgo(2),
      },
      { triggeredBy: 'test' },
    );
    await seedSessions(
      ctx,
      Array.from({ length: 5 }, (_, i) => stalledSession(`bf-fill-${i}`, hoursAgo(-1))),
    );
    const visible = async () => ({
      stuck: (
        await resetStuckSessions(ctx, { olderThanMinutes: 60, dryRun: true }, { triggeredBy: 'test' })
      ).matched
        .map((m) => m.sessionId)
        .sort(),
      byMail: (
        await findSessionsByRecipient(ctx, {
          recipientKey: recipientKeyOf({ kind: 'email', address: 'backfill.customer@example.com' }),
          limit: 10,
        })
      ).items.map((s) => s.sessionId),
    });
    const before = await visible();
    const snapshot = JSON.stringify(await scanAll(ctx, ctx.tables.sessions));
    const currentVersion = (await getSession(ctx, 'bf-current'))?.version;

    // Act: a dry run; then one batch, "interrupted"; then the CLI resumes from its cursor.
    const dry = await cli(env, 'backfill', 'indexes', '--dry-run', '--limit', '3');
    const afterDry = JSON.stringify(await scanAll(ctx, ctx.tables.sessions));
    const first = await backfillIndexKeys(ctx, { dryRun: false, limit: 3 });
    const resumed = await cli(env, 'backfill', 'indexes', '--limit', '3', '--cursor', first.next!);

    // Assess: invisible before, visible after; the dry run wrote nothing; every batch said what it did.
    expect(before).toEqual({ stuck: ['bf-current'], byMail: [] });
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/8 session\(s\) read, 2 with out-of-date index keys .*dry run, nothing changed/);
    expect(dry.err).toMatch(/batch 1: read 3, out of date \d+ .*resume with --cursor \S+/);
    expect(dry.err).toMatch(/batch 3: read 2, out of date \d+ \(so far 8 read, 2 out of date\)\n/);
    expect(afterDry).toBe(snapshot);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toMatch(/5 session\(s\) read/);
    expect(first.rewritten + Number(/(\d+) rewritten/.exec(resumed.out)?.[1])).toBe(2);
    expect(await visible()).toEqual({ stuck: ['bf-current', 'bf-stuck'], byMail: ['bf-mail'] });
    for (const item of await scanAll(ctx, ctx.tables.sessions)) {
      expect(staleIndexKeys(parse(SessionSchema, item), ctx.shards)).toEqual([]);
    }
    expect((await getSession(ctx, 'bf-current'))?.version).toBe(currentVersion);
    await expect(cli(env, 'backfill', 'indexes', '--cursor', 'bm90LWEtY3Vyc29y')).rejects.toThrow(
      /--cursor: not a cursor a backfill printed/,
    );
  });
});
