// The soak behind `npm run soak` (entry: run.ts): the whole service under faults for ~10 minutes on
// 127.0.0.1, then a ledger that must balance. 10,000 stalled sessions, 4 sweepers racing on timers (job
// lease bypassed, as parallel shard sweepers run), 5 channel senders behind queue pollers with the real
// providers against the local receivers and the SES emulator, 1 % of claims and of sender invocations
// killed at their crash points, 5 % of messages delivered twice, one 60 s provider outage followed by a DLQ
// replay, then quiescence and a reconciliation of tables, queues, DLQs and the providers' records. Every
// knob is a SOAK_* variable (test/soak/config.ts); progress goes to stderr every ~10 s, the ledger to
// stdout. Exit 0 when it balances, 1 when it does not, 2 when the soak itself failed. See docs/soak.md.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { startEmulators } from '../../local/emulators.ts';
import { functionCredentials, startIamGate } from '../../local/iam-gate.ts';
import { type QueuePoller, startQueuePoller } from '../../local/queue-poller.ts';
import { startLocalReceivers } from '../../local/receivers.ts';
import { createResources } from '../../local/resources.ts';
import { createDynamoClient, createSqsClient } from '../../shared/aws/clients.ts';
import type { AppContext } from '../../shared/context.ts';
import { CHANNELS } from '../../shared/infra/resources.ts';
import { findStaleOutbox } from '../../shared/repositories/attempts.ts';
import { createPolicy } from '../../shared/repositories/policies.ts';
import { staticChannelConfig } from '../../shared/senders/config.ts';
import { RetryableDeliveryError } from '../../shared/senders/deliver.ts';
import { createProvider } from '../../shared/senders/factories/index.ts';
import { createSenderHandler } from '../../shared/senders/handler.ts';
import { cachedProviders } from '../../shared/senders/providers.ts';
import { DEFAULT_SETTINGS } from '../../shared/settings.ts';
import { replayDlq } from '../../shared/usecases/dlq.ts';
import { SimulatedCrash } from '../../shared/usecases/job-run.ts';
import { runRecoverySweep } from '../../shared/usecases/recovery-sweep.ts';
import { receiverConfigs } from '../integration/senders/fixtures.ts';
import { seededRandom } from '../support/faults.ts';
import { seedSessions, stalledSession } from '../support/seed.ts';
import { soakConfigFromEnv } from './config.ts';
import {
  type DuplicateCounts,
  duplicatingHandler,
  emptyCallLog,
  providerOutage,
  publishOutage,
  recordingProviders,
  type SenderKill,
  SenderKiller,
  sweepKiller,
} from './faults.ts';
import { emailOf, formatLedger, phoneOf, queueDepth, reconcile, sessionIdOf } from './ledger.ts';

const config = soakConfigFromEnv();
const startedAt = Date.now();
const deadline = startedAt + config.SOAK_MAX_MINUTES * 60_000;
const random = seededRandom(config.SOAK_SEED);
const silent = { info: () => {}, warn: () => {}, error: () => {} };

const elapsed = () => `${String(Math.round((Date.now() - startedAt) / 1000)).padStart(4)} s`;
const log = (line: string) => process.stderr.write(`[soak ${elapsed()}] ${line}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `task` now and then `ms` after each run ends, never overlapping itself, until stopped. */
function repeat(ms: number, task: () => Promise<void>): () => Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = task().finally(() => {
      if (!stopped) timer = setTimeout(tick, ms);
    });
  };
  tick();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}

async function main(): Promise<number> {
  const c = config;
  const expectedAttempts = c.SOAK_SESSIONS * c.SOAK_MAX_RETRIES;
  log(
    `seed ${c.SOAK_SEED}: ${c.SOAK_SESSIONS} sessions × ${c.SOAK_MAX_RETRIES} attempts × ${CHANNELS.length} channels, ${c.SOAK_SWEEPERS} sweepers every ${c.SOAK_SWEEP_INTERVAL_MS} ms, ${c.SOAK_POLLERS_PER_CHANNEL} pollers per channel, kills ${c.SOAK_SWEEP_KILL_RATE * 100} % of claims / ${c.SOAK_SENDER_KILL_RATE * 100} % of sender invocations, duplicates ${c.SOAK_DUPLICATE_RATE * 100} %, outage ${c.SOAK_OUTAGE_SECONDS} s at +${c.SOAK_OUTAGE_AT_SECONDS} s, bound ${c.SOAK_MAX_MINUTES} min`,
  );
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  };
  // A second Ctrl-C (or the signal reaching both tsx and its child) must not kill the process without its
  // 'exit' handlers, which SIGKILL the emulators: it exits through process.exit instead.
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: stopping everything');
    void stopAll().then(() => process.exit(130));
  });

  try {
    const emulators = await startEmulators({ log });
    stops.push(() => emulators.stop());
    // Local IAM, as in npm start and the tests: each component signs with its function's key (LOCAL_IAM=off: none).
    let endpoints = emulators.endpoints;
    if (process.env.LOCAL_IAM !== 'off') {
      const { synthesizeFunctionPolicies } = await import('../../local/iam-policies.ts');
      const gate = await startIamGate({
        upstream: emulators.endpoints,
        policies: synthesizeFunctionPolicies(endpoints.region),
        onDenied: (d) => log(`iam  denied ${d.functionId} ${d.action} ${d.resource}`),
      });
      stops.push(() => gate.stop());
      endpoints = gate.endpoints;
      log('iam  enforced from the synthesized template');
    }
    const sqs = createSqsClient(endpoints);
    const names = await createResources(endpoints, sqs, 'soak');
    // Shorter than production's 60 s, so redeliveries (and, in the outage, dead-lettering) happen in minutes.
    for (const channel of CHANNELS) {
      await sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: names.queues[channel].url,
          Attributes: { VisibilityTimeout: String(c.SOAK_VISIBILITY_SECONDS) },
        }),
      );
    }
    const receivers = await startLocalReceivers();
    stops.push(() => receivers.stop());
    const settings = {
      ...DEFAULT_SETTINGS,
      dispatchLeaseSeconds: c.SOAK_DISPATCH_LEASE_SECONDS,
      sweepLimit: c.SOAK_SWEEP_LIMIT,
      // The sweepers' real period: a deferred reminder is looked at again after one.
      schedules: {
        ...DEFAULT_SETTINGS.schedules,
        'recovery-sweep': { rateSeconds: Math.max(1, c.SOAK_SWEEP_INTERVAL_MS / 1000), enabled: true },
      },
    };
    // A client per component, as separate Lambdas have: no component queues behind another's sockets.
    const contextFor = (functionId?: string): AppContext => ({
      ddb: createDynamoClient({
        ...endpoints,
        ...(functionId ? { credentials: functionCredentials(functionId) } : {}),
      }),
      sqs: createSqsClient({
        ...endpoints,
        ...(functionId ? { credentials: functionCredentials(functionId) } : {}),
      }),
      tables: names.tables,
      queues: Object.fromEntries(
        Object.entries(names.queues).map(([ch, q]) => [ch, { url: q.url, dlqUrl: q.dlqUrl }]),
      ) as AppContext['queues'],
      clock: () => new Date(),
      shards: c.SOAK_SHARDS,
      settings,
    });
    const ctx = contextFor();

    // ── Seed ──────────────────────────────────────────────────────────────────────────────────────────
    const policy = await createPolicy(
      ctx,
      {
        name: 'soak: every channel, seconds apart',
        orgId: 'soak',
        active: true,
        maxRetries: c.SOAK_MAX_RETRIES,
        initialDelaySeconds: c.SOAK_INITIAL_DELAY_SECONDS,
        backoffMultiplier: c.SOAK_BACKOFF,
        maxDelaySeconds: Math.max(c.SOAK_MAX_DELAY_SECONDS, c.SOAK_INITIAL_DELAY_SECONDS),
        jitter: 'equal',
        enabledChannels: [...CHANNELS],
      },
      { triggeredBy: 'soak', at: new Date() },
    );
    const seedAt = Date.now();
    const sessions = Array.from({ length: c.SOAK_SESSIONS }, (_, i) => {
      const sessionId = sessionIdOf(i);
      const due = new Date(seedAt + Math.floor((i / c.SOAK_SESSIONS) * c.SOAK_RAMP_SECONDS * 1000));
      return stalledSession(sessionId, due.toISOString(), {
        orgId: 'soak',
        policyId: policy.policyId,
        maxRetries: c.SOAK_MAX_RETRIES,
        contact: {
          // The name is the session id: it is how a Slack message is traced back to its session.
          name: sessionId,
          email: emailOf(sessionId),
          phone: phoneOf(i),
          slackChannel: '#soak',
          webhookUrl: receivers.urls.webhook,
        },
        recoveryUrl: `https://shop.example.com/recover/${sessionId}`,
      });
    });
    let lastSeedLog = 0;
    await seedSessions(ctx, sessions, (done) => {
      if (Date.now() - lastSeedLog > c.SOAK_PROGRESS_SECONDS * 1000 || done === sessions.length) {
        lastSeedLog = Date.now();
        log(`seeding: ${done}/${sessions.length} sessions written`);
      }
    });

    // ── Senders ───────────────────────────────────────────────────────────────────────────────────────
    const calls = emptyCallLog();
    const outage = providerOutage();
    const providers = recordingProviders(
      cachedProviders(() => new Date(), createProvider),
      calls,
      outage,
    );
    const channelConfig = staticChannelConfig(receiverConfigs(receivers, endpoints.ses, 5000));
    const senderKills: SenderKill[] = [];
    const killers: SenderKiller[] = [];
    const duplicates: DuplicateCounts = { copies: 0, sameRecord: 0 };
    const results = { sent: 0, duplicate: 0, skipped: 0, failed: 0, transient: 0, inFlight: 0, other: 0 };
    let senderInvocations = 0;
    let pollErrors = 0;
    const pollers: QueuePoller[] = [];
    for (const channel of CHANNELS) {
      const senderCtx = contextFor(`sender-${channel}`);
      for (let p = 0; p < c.SOAK_POLLERS_PER_CHANNEL; p++) {
        const killer = new SenderKiller(channel, c.SOAK_SENDER_KILL_RATE, random, senderKills);
        killers.push(killer);
        const handler = createSenderHandler(channel, {
          ctx: senderCtx,
          config: channelConfig,
          providers,
          log: silent,
          faults: killer.faults,
          onResult: (r) => {
            if ('outcome' in r) {
              results[r.outcome.status]++;
            } else if (r.error instanceof RetryableDeliveryError) {
              if (r.error.kind === 'transient') results.transient++;
              else results.inFlight++;
            } else results.other++;
          },
        });
        pollers.push(
          startQueuePoller({
            sqs: senderCtx.sqs,
            queueUrl: senderCtx.queues[channel].url,
            batchSize: 10,
            waitSeconds: 1,
            onError: () => {
              pollErrors++;
            },
            handler: duplicatingHandler({
              handler,
              killer,
              sqs: senderCtx.sqs,
              queueUrl: senderCtx.queues[channel].url,
              rate: c.SOAK_DUPLICATE_RATE,
              random,
              counts: duplicates,
              onInvocation: () => {
                senderInvocations++;
              },
            }),
          }),
        );
      }
    }
    const stopPollers = async () => {
      await Promise.all(pollers.splice(0).map((p) => p.stop()));
    };
    stops.push(stopPollers);

    // ── Sweepers ──────────────────────────────────────────────────────────────────────────────────────
    const sweepCrasher = sweepKiller(c.SOAK_SWEEP_KILL_RATE, random);
    const lostGrant = publishOutage(ctx.queues.email.url);
    const claimed = new Set<string>();
    const sweep = { runs: 0, crashed: 0, failed: 0, conflicts: 0, redispatched: 0, errors: [] as string[] };
    const allShards = Array.from({ length: c.SOAK_SHARDS }, (_, i) => String(i));
    const sweeperStops: Array<() => Promise<void>> = [];
    for (let k = 0; k < c.SOAK_SWEEPERS; k++) {
      const sweeperCtx = contextFor('recovery-sweep');
      lostGrant.attach(sweeperCtx.sqs);
      // `split`: each sweeper starts with its own shards, then walks the others (less racing).
      const own = allShards.filter((s) => Number(s) % c.SOAK_SWEEPERS === k);
      const shards =
        c.SOAK_SWEEPER_SHARDS === 'split'
          ? [...own, ...allShards.filter((s) => !own.includes(s))]
          : undefined;
      sweeperStops.push(
        repeat(c.SOAK_SWEEP_INTERVAL_MS, async () => {
          sweep.runs++;
          try {
            const record = await runRecoverySweep(sweeperCtx, {
              trigger: `soak-sweeper-${k}`,
              bypassJobLease: true,
              faults: sweepCrasher.faults,
              shards,
              onEvent: (e) => {
                if (e.type === 'claimed') claimed.add(`${e.sessionId}#${e.number}`);
                else if (e.type === 'conflict') sweep.conflicts++;
                else if (e.type === 'redispatched') sweep.redispatched++;
                else if (sweep.errors.length < 20 && 'reason' in e)
                  sweep.errors.push(`${e.type}: ${e.reason}`);
              },
            });
            if (record.status === 'failed') sweep.failed++;
          } catch (error) {
            if (error instanceof SimulatedCrash) sweep.crashed++;
            else {
              sweep.failed++;
              if (sweep.errors.length < 20) sweep.errors.push(`run threw: ${String(error)}`);
            }
          }
        }),
      );
    }
    const stopSweepers = async () => {
      await Promise.all(sweeperStops.splice(0).map((stop) => stop()));
    };
    stops.push(stopSweepers);
    const runStartedAt = Date.now();
    log(`running: sweepers and senders started (${pollers.length} pollers)`);

    // ── Outage, DLQ replay, progress, quiescence ──────────────────────────────────────────────────────
    const publishOutageStart = runStartedAt + c.SOAK_PUBLISH_OUTAGE_AT_SECONDS * 1000;
    const publishOutageEnd = publishOutageStart + c.SOAK_PUBLISH_OUTAGE_SECONDS * 1000;
    let publishOutageState: 'before' | 'on' | 'over' = c.SOAK_PUBLISH_OUTAGE_SECONDS > 0 ? 'before' : 'over';
    const outageStart = runStartedAt + c.SOAK_OUTAGE_AT_SECONDS * 1000;
    const outageEnd = outageStart + c.SOAK_OUTAGE_SECONDS * 1000;
    const hasOutage = c.SOAK_OUTAGE_SECONDS > 0;
    // Dead-lettering happens at a receive: wait a visibility after the outage, then replay, as on-call would.
    const replayAt = outageEnd + (c.SOAK_VISIBILITY_SECONDS + 5) * 1000;
    let outageState: 'before' | 'on' | 'over' = hasOutage ? 'before' : 'over';
    const dlqReplay = { rounds: 0, replayed: 0 };
    let firstReplayDone = !hasOutage;

    const depths = async () => {
      let queued = 0;
      let dead = 0;
      for (const ch of CHANNELS) {
        queued += await queueDepth(ctx, ctx.queues[ch].url);
        dead += await queueDepth(ctx, ctx.queues[ch].dlqUrl);
      }
      return { queued, dead };
    };
    const replayAll = async () => {
      dlqReplay.rounds++;
      let moved = 0;
      for (const ch of CHANNELS) {
        // Bounded: a DLQ that keeps refilling must not keep the soak here past its time limit.
        for (let call = 0; call < 10 && Date.now() < deadline; call++) {
          const result = await replayDlq(ctx, ch, {
            dryRun: false,
            limit: 10_000,
            ratePerSecond: 500,
            budgetMs: 60_000,
            triggeredBy: 'soak on-call',
          });
          moved += result.replayed;
          if (result.replayed === 0) break;
        }
      }
      dlqReplay.replayed += moved;
      log(`DLQ replay round ${dlqReplay.rounds}: ${moved} message(s) moved back to the channel queues`);
    };
    const outboxQueued = async () => {
      let n = 0;
      const future = new Date(Date.now() + 86_400_000);
      for (let s = 0; s < c.SOAK_SHARDS; s++)
        n += (await findStaleOutbox(ctx, String(s), future, 100)).length;
      return n;
    };

    // Everything but DynamoDB Local runs in this process: a blocked event loop delays every answer.
    const loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
    let worstLoopDelayMs = 0;
    let lastProgress = Date.now();
    let quietChecks = 0;
    let lastQuietCheck = 0;
    let quiescent = false;
    while (Date.now() < deadline) {
      await sleep(500);
      const now = Date.now();
      if (publishOutageState === 'before' && now >= publishOutageStart) {
        lostGrant.active = true;
        publishOutageState = 'on';
        log(
          `publish outage: the sweepers lose sqs:SendMessage on the email queue for ${c.SOAK_PUBLISH_OUTAGE_SECONDS} s`,
        );
      } else if (publishOutageState === 'on' && now >= publishOutageEnd) {
        lostGrant.active = false;
        publishOutageState = 'over';
        log(`publish outage over: ${lostGrant.refused} batch(es) refused; waiting attempts leave the outbox`);
      }
      if (outageState === 'before' && now >= outageStart) {
        outage.start(receivers);
        outageState = 'on';
        log(`outage: every provider answers 500 (SES refused by the wrapper) for ${c.SOAK_OUTAGE_SECONDS} s`);
      } else if (outageState === 'on' && now >= outageEnd) {
        outage.end(receivers);
        outageState = 'over';
        log('outage over: providers answer normally again');
      }
      if (!firstReplayDone && outageState === 'over' && now >= replayAt) {
        firstReplayDone = true;
        await replayAll();
      }
      if (now - lastProgress >= c.SOAK_PROGRESS_SECONDS * 1000) {
        lastProgress = now;
        const d = await depths();
        const window = senderKills.filter((k) => k.point === 'afterProviderCall').length;
        const phase = outageState === 'on' ? 'outage' : quietChecks > 0 ? 'draining' : 'running';
        const loopMaxMs = Math.round(loopDelay.max / 1e6);
        worstLoopDelayMs = Math.max(worstLoopDelayMs, loopMaxMs);
        loopDelay.reset();
        log(
          `${phase}: attempts ${claimed.size}/${expectedAttempts} (sweep runs ${sweep.runs}, killed ${sweep.crashed}, conflicts ${sweep.conflicts}, re-dispatched ${sweep.redispatched}) · sent ${results.sent}, skipped ${results.skipped}, duplicate ${results.duplicate}, transient ${results.transient}, in-flight ${results.inFlight} · sender kills ${senderKills.length} (window ${window}) · dups injected ${duplicates.copies + duplicates.sameRecord} · queued ${d.queued}, DLQ ${d.dead} · event loop max ${loopMaxMs} ms`,
        );
      }
      if (!firstReplayDone || claimed.size < expectedAttempts || now - lastQuietCheck < 3000) continue;
      lastQuietCheck = now;
      const d = await depths();
      if (d.dead > 0) {
        // The DLQ alarm fires again: on-call replays again.
        await replayAll();
        quietChecks = 0;
        continue;
      }
      if (d.queued === 0 && (await outboxQueued()) === 0) quietChecks++;
      else quietChecks = 0;
      if (quietChecks >= 2) {
        quiescent = true;
        break;
      }
    }
    loopDelay.disable();
    if (outageState === 'on') outage.end(receivers);
    lostGrant.active = false;
    log(
      quiescent
        ? 'quiescent: stopping sweepers and senders'
        : 'time bound reached: stopping sweepers and senders',
    );
    await stopSweepers();
    await stopPollers();
    const runtimeSeconds = (Date.now() - startedAt) / 1000;
    if (sweep.errors.length)
      log(`sweep problems (first ${sweep.errors.length}): ${sweep.errors.join(' | ')}`);
    log(
      `worst event-loop delay ${worstLoopDelayMs} ms; poll errors ${pollErrors}; unexpected delivery errors ${results.other}`,
    );

    const ledger = await reconcile(
      ctx,
      receivers,
      endpoints.ses,
      {
        sessions: c.SOAK_SESSIONS,
        maxRetries: c.SOAK_MAX_RETRIES,
        calls,
        senderKills,
        senderKillsPlanned: killers.reduce((sum, k) => sum + k.planned, 0),
        senderInvocations,
        sweepKills: sweepCrasher.crashed,
        sweepRuns: sweep.runs,
        duplicates,
        dlqReplay,
        outage: { seconds: c.SOAK_OUTAGE_SECONDS, happened: hasOutage && outageState === 'over' },
        publishOutage: {
          seconds: c.SOAK_PUBLISH_OUTAGE_SECONDS,
          happened: publishOutageState === 'over',
          refusedBatches: lostGrant.refused,
        },
        runtimeSeconds,
        quiescent,
        seed: c.SOAK_SEED,
      },
      log,
    );
    process.stdout.write(formatLedger(ledger));
    log(
      `done in ${Math.round((Date.now() - startedAt) / 1000)} s: ${ledger.balanced ? 'balanced' : 'NOT balanced'}`,
    );
    return ledger.balanced ? 0 : 1;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
