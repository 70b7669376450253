// The ops CLI: run a job once, reset stuck sessions, replay a DLQ, pause or resume a job, see status.
// It calls the same use cases as the Lambdas and the admin API. Destructive work is a dry run unless
// told `--execute`. It works against any deployment whose table names and queue URLs are in the
// environment (the same variables CDK gives the functions), or against a running `npm start`.
import '../local/quiet-env.ts';
import { parseArgs } from 'node:util';
import * as v from 'valibot';
import { readRunningLocalState } from '../local/local-env.ts';
import type { AppContext } from '../shared/context.ts';
import { CHANNELS, JOBS, SESSIONS_TABLE } from '../shared/infra/resources.ts';
import type { RunRecord } from '../shared/repositories/jobs.ts';
import { compactShardCount, readRecordedShards } from '../shared/repositories/shards.ts';
import { finiteNumber, integer, numberFromText, safeParse, text } from '../shared/schema.ts';
import { contextWithSettingsFromEnv } from '../shared/settings.ts';
import { backfillIndexKeys, decodeBackfillCursor } from '../shared/usecases/index-backfill.ts';
import {
  getJobsStatus,
  listDlqsWithHealth,
  pauseJob,
  type ReplayResult,
  replayDlq,
  resumeJob,
} from '../shared/usecases/ops.ts';
import { runRecoverySweep } from '../shared/usecases/recovery-sweep.ts';
import { type ResetStuckPosition, resetStuckSessions } from '../shared/usecases/sessions.ts';
import { runTimeoutMonitor } from '../shared/usecases/timeout-monitor.ts';

const USAGE = `usage: session-recovery <command> [options]

commands
  sweep --once [--dry-run] [--limit N]          run the recovery sweep once
  monitor --once [--dry-run]                    run the timeout monitor once
  reset-stuck --older-than MIN [--limit N] [--execute]
                                                time out sessions processing longer than MIN minutes
                                                (lists them only, unless --execute), N per batch
  status                                        jobs (heartbeat, failures, paused) and DLQ depths
  replay-dlq --channel C [--session-id ID] [--attempt-id ID] [--error-contains TEXT] [--limit N] [--force] [--execute]
                                                move matching DLQ messages back to the channel queue
                                                (counts them only, unless --execute)
  shards [--compact] [--execute]                the index shard count readers walk (the largest any writer used);
                                                --compact lowers it to this INDEX_SHARDS once the shards above
                                                it are empty (checks only, unless --execute)
  backfill indexes [--dry-run] [--limit N] [--cursor C]
                                                rewrite sessions whose index keys predate an index upgrade
                                                (byStatus, byRecipient), N per batch (100), resumable from
                                                the cursor each batch prints (docs/deploy.md)
  pause <job> [--reason TEXT]                   kill switch: stop a job without a deploy
  resume <job> [--reason TEXT]
  console [--stack NAME | --api URL] [--read-only] [--port N]
                                                the operator console on 127.0.0.1 against a deployed stack,
                                                every call signed with your AWS credentials (--help for more)

jobs: ${JOBS.join(', ')}    channels: ${CHANNELS.join(', ')}

The target is the deployment named by the environment (${SESSIONS_TABLE.envVar}, TIMELINE_TABLE, CONTROL_TABLE,
QUEUE_URL_<CHANNEL>, DLQ_URL_<CHANNEL>, AWS_REGION; DYNAMODB_ENDPOINT/SQS_ENDPOINT for emulators), or a running
\`npm start\` when those are not set.`;

const ArgsSchema = v.object({
  once: v.optional(v.boolean()),
  'dry-run': v.optional(v.boolean()),
  execute: v.optional(v.boolean()),
  limit: v.optional(numberFromText(integer(1, 100_000))),
  'older-than': v.optional(numberFromText(finiteNumber(1, 525_600))),
  channel: v.optional(v.picklist(CHANNELS)),
  'session-id': v.optional(text(1)),
  'attempt-id': v.optional(text(1)),
  'error-contains': v.optional(text(1)),
  force: v.optional(v.boolean()),
  compact: v.optional(v.boolean()),
  reason: v.optional(text(0, 500)),
  cursor: v.optional(text(1, 1000)),
  help: v.optional(v.boolean()),
});

const JobSchema = v.picklist(JOBS);

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const out = (line = '') => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`${line}\n`);

function resolveContext(): { ctx: AppContext; target: string } {
  if (process.env[SESSIONS_TABLE.envVar]) {
    return {
      ctx: contextWithSettingsFromEnv(),
      target: `tables from the environment (${process.env[SESSIONS_TABLE.envVar]})`,
    };
  }
  const local = readRunningLocalState();
  if (local)
    return {
      ctx: contextWithSettingsFromEnv({ ...process.env, ...local.env }),
      target: `the running npm start (pid ${local.pid})`,
    };
  throw new UsageError(
    `no target: set ${SESSIONS_TABLE.envVar} and the other variables of a deployment, or start the local runtime with npm start`,
  );
}

function printRun(run: RunRecord): void {
  out(
    `${run.job} run ${run.runId}: ${run.status}${run.dryRun ? ' (dry run: nothing changed)' : ''}${run.reason ? ` — ${run.reason}` : ''}`,
  );
  const c = run.counts;
  if (run.job === 'recovery-sweep') {
    out(
      `  selected ${c.selected}, claimed ${c.claimed}, dispatched ${c.dispatched} messages, re-dispatched ${c.redispatched} attempts, exhausted ${c.exhausted}`,
    );
    out(
      `  skipped ${c.skipped}, conflicts ${c.conflicts}, invalid ${c.invalid}, errors ${c.errors}, ${run.durationMs} ms`,
    );
  } else {
    out(
      `  selected ${c.selected}, timed out ${c.timedOut}, running long ${c.longRunning}, alerts ${c.alerts}, errors ${c.errors}, ${run.durationMs} ms`,
    );
  }
  if (run.wouldProcess?.length) out(`  would process: ${run.wouldProcess.join(', ')}`);
  for (const p of run.problems.slice(0, 10)) out(`  problem ${p.sessionId ?? ''}: ${p.reason}`);
}

function requireJob(name: string | undefined): (typeof JOBS)[number] {
  if (!v.is(JobSchema, name)) throw new UsageError(`name a job: ${JOBS.join(' or ')}`);
  return name;
}

export async function runCli(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      once: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      execute: { type: 'boolean' },
      limit: { type: 'string' },
      'older-than': { type: 'string' },
      channel: { type: 'string' },
      'session-id': { type: 'string' },
      'attempt-id': { type: 'string' },
      'error-contains': { type: 'string' },
      force: { type: 'boolean' },
      compact: { type: 'boolean' },
      reason: { type: 'string' },
      cursor: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const parsed = safeParse(ArgsSchema, values);
  if (!parsed.success) {
    throw new UsageError(
      parsed.issues.map((i) => `--${i.path.map(String).join('.')}: ${i.message}`).join('; '),
    );
  }
  const args = parsed.data;
  const [command, subject] = positionals;
  if (!command || args.help) {
    out(USAGE);
    return command ? 0 : 2;
  }
  const operator = `cli:${process.env.USER ?? 'operator'}`;
  switch (command) {
    case 'sweep':
    case 'monitor': {
      if (!args.once) throw new UsageError(`${command} runs once per call: pass --once`);
      const { ctx, target } = resolveContext();
      progress(`${command} against ${target}${args['dry-run'] ? ' (dry run)' : ''}…`);
      const run =
        command === 'sweep'
          ? await runRecoverySweep(ctx, {
              trigger: 'cli',
              dryRun: args['dry-run'],
              limit: args.limit,
              onEvent: (e) => {
                if (e.type === 'claimed')
                  progress(
                    `  claimed ${e.sessionId} attempt ${e.number}/${e.maxRetries} → ${e.channels.join(',')}`,
                  );
                else if (e.type !== 'conflict')
                  progress(`  ${e.type} ${'sessionId' in e ? (e.sessionId ?? '') : ''}`);
              },
            })
          : await runTimeoutMonitor(ctx, {
              trigger: 'cli',
              dryRun: args['dry-run'],
              limit: args.limit,
              onEvent: (e) => {
                if (e.type === 'timed_out')
                  progress(`  timed out ${e.sessionId} (${e.minutesProcessing} min)`);
                if (e.type === 'alert') progress(`  ops alert: ${e.summary}`);
              },
            });
      printRun(run);
      return run.status === 'failed' ? 1 : 0;
    }
    case 'reset-stuck': {
      if (args['older-than'] === undefined) throw new UsageError('reset-stuck needs --older-than MIN');
      const { ctx, target } = resolveContext();
      const dryRun = !args.execute;
      progress(`looking for sessions processing for more than ${args['older-than']} min in ${target}…`);
      // One bounded batch per call, as the API does; the CLI follows the continuation to the end.
      const batch = args.limit ?? 100;
      let position: ResetStuckPosition | undefined;
      let total = { matched: 0, changed: 0 };
      for (let call = 1; ; call++) {
        const result = await resetStuckSessions(
          ctx,
          { olderThanMinutes: args['older-than'], dryRun, limit: batch, position },
          { triggeredBy: operator, reason: args.reason },
        );
        total = result.total;
        for (const m of result.matched) out(`  ${m.sessionId}  ${m.minutesStuck} min`);
        for (const n of result.notChanged) out(`  ${n.sessionId}  not timed out: ${n.reason}`);
        progress(
          `  batch ${call}: matched ${result.matched.length}${dryRun ? '' : `, timed out ${result.changed}`} (so far ${total.matched} matched${dryRun ? '' : `, ${total.changed} timed out`})${result.more ? ', continuing…' : ''}`,
        );
        if (!result.next) break;
        position = result.next;
        if (result.retryAfterSeconds) {
          progress(
            `  DynamoDB is throttling: waiting ${result.retryAfterSeconds} s, then trying those again…`,
          );
          await new Promise((resolve) => setTimeout(resolve, result.retryAfterSeconds! * 1000));
        }
      }
      out(
        `${total.matched} stuck session(s)${dryRun ? ' — dry run, nothing changed (add --execute to time them out)' : `, ${total.changed} timed out`}`,
      );
      return 0;
    }
    case 'status': {
      const { ctx, target } = resolveContext();
      out(`target: ${target}`);
      for (const job of await getJobsStatus(ctx)) {
        out(
          `  ${job.name.padEnd(16)} ${job.paused ? 'PAUSED' : 'running'}  last heartbeat ${job.lastHeartbeatAt ?? 'never'}  last success ${job.lastSuccessAt ?? 'never'}  consecutive failures ${job.consecutiveFailures}${job.lastError ? `  last error: ${job.lastError}` : ''}`,
        );
      }
      for (const q of await listDlqsWithHealth(ctx)) {
        const health =
          q.health.status === 'misconfigured'
            ? `  MISCONFIGURED since ${q.health.since}: ${q.health.reason}`
            : '';
        out(`  dlq ${q.channel.padEnd(9)} depth ${q.depth}${health}`);
      }
      return 0;
    }
    case 'replay-dlq': {
      if (!args.channel) throw new UsageError(`replay-dlq needs --channel (${CHANNELS.join(', ')})`);
      const { ctx, target } = resolveContext();
      const dryRun = !args.execute;
      progress(`replaying the ${args.channel} DLQ of ${target}${dryRun ? ' (dry run)' : ''}…`);
      // One bounded call at a time, as the API does; a real replay that moved messages continues.
      let result: ReplayResult;
      let before: ReplayResult['total'] | undefined;
      const listed: ReplayResult['messages'] = [];
      let needsForce = 0;
      for (let call = 1; ; call++) {
        result = await replayDlq(ctx, args.channel, {
          dryRun,
          limit: args.limit ?? 100,
          sessionId: args['session-id'],
          attemptId: args['attempt-id'],
          errorContains: args['error-contains'],
          force: args.force,
          triggeredBy: operator,
          ...(before ? { before } : {}),
        });
        listed.push(...result.messages);
        // A continuing call looks again at the messages that need force: the largest count, not a sum.
        needsForce = Math.max(needsForce, result.needsForce);
        progress(
          `  call ${call}: scanned ${result.scanned}, matched ${result.matched}, replayed ${result.replayed}, stopped by ${result.stoppedBy}, ${result.remaining ?? '?'} left in the DLQ${result.continues ? ', continuing…' : ''}`,
        );
        if (!result.continues) break;
        before = result.total;
      }
      const { total } = result;
      out(
        `scanned ${total.scanned}, matched ${total.matched}${result.matchedIsLowerBound ? `+ (stopped by its ${result.stoppedBy}: more may match)` : ''}, replayed ${total.replayed}${dryRun ? ' — dry run, nothing moved (add --execute)' : ''}`,
      );
      if (total.notDeleted) {
        out(
          `  ${total.notDeleted} message(s) sent to the ${args.channel} queue but not deleted from its DLQ (not counted as replayed): they stay in the DLQ and a later replay sends them again; the senders are idempotent, so each still reaches the person once — check the DLQ in a few minutes and replay again`,
        );
        for (const m of result.notDeletedMessages.slice(0, 20)) out(`    ${m.messageId} ${m.error}`);
      }
      if (needsForce) {
        out(
          `  ${needsForce} message(s) left: each may already have reached the person twice (provider_window_exceeded); check the provider, then add --force`,
        );
      }
      for (const m of listed.slice(0, 20))
        out(`  ${m.messageId} session ${m.sessionId ?? '?'} attempt ${m.attemptId ?? '?'}`);
      return 0;
    }
    case 'shards': {
      const { ctx, target } = resolveContext();
      const recorded = await readRecordedShards(ctx);
      out(
        `${target}: readers walk ${Math.max(recorded, ctx.shards)} shard(s); recorded ${recorded || 'nothing yet'}, this INDEX_SHARDS ${ctx.shards}`,
      );
      if (!args.compact) return 0;
      progress(
        `checking shards ${ctx.shards}..${Math.max(recorded, ctx.shards) - 1} of the due, deadline and outbox indexes…`,
      );
      const report = await compactShardCount(ctx, !args.execute);
      const left = Object.entries(report.left);
      if (left.length) {
        out(
          `not lowered: still in the shards above ${ctx.shards}: ${left.map(([ix, n]) => `${ix} ${n}${n >= 100 ? '+' : ''}`).join(', ')} — they move as those sessions are written again; run this later`,
        );
        return 1;
      }
      out(
        report.compacted
          ? `lowered to ${report.to}: readers now walk ${report.to} shard(s)`
          : report.from <= ctx.shards
            ? 'nothing to lower'
            : `shards ${ctx.shards}..${report.from - 1} are empty — dry run, nothing changed (add --execute)`,
      );
      return 0;
    }
    case 'backfill': {
      if (subject !== 'indexes') throw new UsageError('backfill what? backfill indexes [--dry-run]');
      const { ctx, target } = resolveContext();
      const dryRun = args['dry-run'] === true;
      let cursor = args.cursor;
      if (cursor) {
        try {
          decodeBackfillCursor(cursor);
        } catch {
          throw new UsageError('--cursor: not a cursor a backfill printed');
        }
      }
      progress(
        `backfilling index keys in ${target} (INDEX_SHARDS ${ctx.shards})${dryRun ? ' — dry run' : ''}${cursor ? ', resuming' : ''}…`,
      );
      const sum = { read: 0, stale: 0, rewritten: 0, changedMeanwhile: 0 };
      const attributes: Record<string, number> = {};
      const unreadable: string[] = [];
      for (let batch = 1; ; batch++) {
        let result: Awaited<ReturnType<typeof backfillIndexKeys>>;
        try {
          result = await backfillIndexKeys(ctx, { dryRun, limit: args.limit ?? 100, cursor });
        } catch (error) {
          progress(`  batch ${batch} failed; resume with${cursor ? ` --cursor ${cursor}` : 'out --cursor'}`);
          throw error;
        }
        sum.read += result.read;
        sum.stale += result.stale;
        sum.rewritten += result.rewritten;
        sum.changedMeanwhile += result.changedMeanwhile.length;
        for (const [attr, n] of Object.entries(result.attributes))
          attributes[attr] = (attributes[attr] ?? 0) + n;
        unreadable.push(...result.unreadable);
        progress(
          `  batch ${batch}: read ${result.read}, out of date ${result.stale}${dryRun ? '' : `, rewrote ${result.rewritten}`}${result.changedMeanwhile.length ? `, written meanwhile ${result.changedMeanwhile.length}` : ''} (so far ${sum.read} read, ${sum.stale} out of date${dryRun ? '' : `, ${sum.rewritten} rewritten`})${result.next ? ` — resume with --cursor ${result.next}` : ''}`,
        );
        if (!result.next) break;
        cursor = result.next;
      }
      const fixed = Object.entries(attributes)
        .map(([attr, n]) => `${attr} ${n}`)
        .join(', ');
      out(
        `${sum.read} session(s) read, ${sum.stale} with out-of-date index keys${fixed ? ` (${fixed})` : ''}${dryRun ? ' — dry run, nothing changed (run without --dry-run to rewrite them)' : `, ${sum.rewritten} rewritten${sum.changedMeanwhile ? `, ${sum.changedMeanwhile} written meanwhile by the service (their keys are current)` : ''}`}`,
      );
      if (unreadable.length) {
        out(
          `  ${unreadable.length} item(s) fail the stored-session schema and were left alone: ${unreadable.slice(0, 20).join(', ')}`,
        );
        return 1;
      }
      return 0;
    }
    case 'pause':
    case 'resume': {
      const job = requireJob(subject);
      const { ctx } = resolveContext();
      const audit = { triggeredBy: operator, reason: args.reason };
      const state = command === 'pause' ? await pauseJob(ctx, job, audit) : await resumeJob(ctx, job, audit);
      out(
        `${job} is ${state.paused ? 'paused' : 'running'} (by ${operator}${args.reason ? `: ${args.reason}` : ''})`,
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  try {
    if (argv[0] === 'console') {
      // Its own flags and module: the signing proxy loads the credential chain, nothing of the above.
      const { runConsoleCommand } = await import('../console/server/cli.ts');
      const running = await runConsoleCommand(argv.slice(1));
      if (running) {
        const stop = () => void running.stop().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      }
      return;
    }
    process.exitCode = await runCli(argv);
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error instanceof Error && error.name === 'UsageError') ||
      (error instanceof Error && error.name === 'TypeError' && 'code' in error)
    ) {
      process.stderr.write(`session-recovery: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`session-recovery: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  }
}
