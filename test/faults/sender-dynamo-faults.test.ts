// DynamoDB throttling and 500s while senders deliver — before a request is sent, and after it was applied
// with the answer lost — lose no notification and send none twice. Failed records are redelivered the
// way SQS would (after the sender's lease), until every notification has its final outcome.
//
// Each fault is decided by a hash of (seed, command, key, SDK attempt, how often that triple came before),
// not drawn in arrival order: the 40 records of a batch run concurrently, so a seed now reproduces the
// faults every item meets. (The daily stats counters are the one key all records share: which record meets
// the n-th fault there follows arrival order; such a fault fails only a stats write after the `sent` one,
// and its record comes back as a duplicate.) On failure the test prints every notification that did not end
// sent once, and the injector's record.
//
// `FAULT_RUNS=200 npx vitest run test/faults/sender-dynamo-faults.test.ts --maxWorkers=1` runs seeds 1…200
// for each case in this one process, each seed on fresh clients and fresh session ids (tables reused),
// and fails listing every seed that did not pass; `FAULT_SEED=n` replays one seed.
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalReceivers, startLocalReceivers } from '../../local/receivers.ts';
import { contextForResources } from '../../local/resources.ts';
import { createSqsClient } from '../../shared/aws/clients.ts';
import type { AppContext } from '../../shared/context.ts';
import { getOutcome, outcomeKey } from '../../shared/repositories/outcomes.ts';
import { staticChannelConfig } from '../../shared/senders/config.ts';
import { createProvider } from '../../shared/senders/factories/index.ts';
import { createSenderHandler } from '../../shared/senders/handler.ts';
import { cachedProviders } from '../../shared/senders/providers.ts';
import { putSession, receiverConfigs, recoveryMessage } from '../integration/senders/fixtures.ts';
import { createTestContext, manualClock, type TestContext } from '../support/context.ts';
import { type DynamoCall, type FaultTiming, injectDynamoFaults } from '../support/faults.ts';

let receivers: LocalReceivers;
beforeAll(async () => {
  receivers = await startLocalReceivers();
});
afterAll(async () => {
  await receivers.stop();
});

const quiet = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn() });
const MESSAGES = 40;
const MAX_ROUNDS = 30;

function record(body: unknown, receiveCount: number, n: number): SQSRecord {
  const id = `msg-${n}-${receiveCount}`;
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body: JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: '000000000000',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:faults-webhook',
    awsRegion: 'us-east-1',
  };
}

/**
 * A call's key for the hash: its table's role (the prefix differs per run) and its key, without the
 * random shard of a stats counter, so the same seed names the same calls on every run.
 */
function faultKey(call: DynamoCall): string {
  const tables = call.tables.map((t) => t.replace(/^[^-]+-/, '')).join(',');
  const key = Object.entries(call.key ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${name === 'sk' ? value.replace(/#\d+$/, '') : value}`)
    .join('&');
  return `${tables}/${key}`;
}

type Timing = FaultTiming | 'mixed';

/** What one seeded run found wrong (empty when it passed), and what to print when it did. */
interface RunReport {
  readonly problems: string[];
  readonly detail: string;
}

const json = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (v instanceof Set ? [...(v as Set<unknown>)] : v));

async function runWithFaults(base: TestContext, timing: Timing, seed: number): Promise<RunReport> {
  // Prepare: fresh clients on the file's tables (a fresh SDK retry quota), ids fixed by the seed.
  const clock = manualClock('2026-03-02T10:00:00.000Z');
  const ctx: AppContext = contextForResources(base.endpoints, createSqsClient(base.endpoints), base.names, {
    clock: clock.clock,
    shards: 4,
  });
  const ids = Array.from({ length: MESSAGES }, (_, i) => `fs-${timing}-${seed}-${i}`);
  for (const id of ids) await putSession(ctx, id);
  const messages = ids.map((id) =>
    recoveryMessage({ sessionId: id, channel: 'webhook', recipient: receivers.urls.webhook }),
  );
  const handler = createSenderHandler('webhook', {
    ctx,
    // A generous provider timeout: this test is about DynamoDB faults, and a receiver slowed by a loaded
    // machine must not add the provider window's second call (that bound has its own tests).
    config: staticChannelConfig(receiverConfigs(receivers, base.endpoints.ses, 30_000)),
    // Leases follow the manual clock; signatures the real one, which the receiver checks.
    providers: cachedProviders(() => new Date(), createProvider),
    clock: clock.clock,
    log: quiet(),
  });
  const before = receivers.control.requests('webhook').length;
  const injector = injectDynamoFaults(ctx.ddb, {
    rate: timing === 'mixed' ? 0.25 : 0.2,
    timing,
    seed,
    draw: 'hash',
    faultKey,
    logLimit: 5000,
  });

  // Act: deliver, then redeliver whatever failed after the lease has passed, like SQS would.
  let pending = messages.map((m, n) => ({ message: m, n, receives: 1 }));
  let rounds = 0;
  while (pending.length > 0 && rounds < MAX_ROUNDS) {
    rounds++;
    const records = pending.map((p) => record(p.message, p.receives, p.n));
    const response = await handler({ Records: records });
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    pending = pending
      .filter((_, i) => failed.has(records[i]?.messageId ?? ''))
      .map((p) => ({ ...p, receives: p.receives + 1 }));
    clock.advance(30_000);
  }
  injector.remove();

  // Assess
  const problems: string[] = [];
  // Only this run's deliveries: other seeds may be running beside it against the same receiver.
  const mine = `fs-${timing}-${seed}-`;
  const calls = receivers.control
    .requests('webhook')
    .slice(before)
    .filter((c) => (c.headers['webhook-id'] ?? '').startsWith(mine));
  const perDelivery = new Map<string, number>();
  for (const c of calls) {
    const id = c.headers['webhook-id'] ?? '?';
    perDelivery.set(id, (perDelivery.get(id) ?? 0) + 1);
  }
  const unfinished: string[] = [];
  for (const [n, m] of messages.entries()) {
    const outcome = await getOutcome(ctx, outcomeKey(m));
    const providerCalls = perDelivery.get(`${m.attemptId}:webhook`) ?? 0;
    const stillPending = pending.some((p) => p.n === n);
    if (outcome?.status !== 'sent' || providerCalls !== 1 || stillPending) {
      unfinished.push(
        `${m.sessionId}${stillPending ? ' (pending)' : ''}: ${providerCalls} provider call(s), outcome ${json(outcome)}`,
      );
    }
  }
  if (pending.length > 0) problems.push(`${pending.length} message(s) still pending after ${rounds} rounds`);
  if (unfinished.length > 0) problems.push(`${unfinished.length} notification(s) not sent exactly once`);
  if (perDelivery.size !== MESSAGES)
    problems.push(`${perDelivery.size} deliveries reached the provider, not ${MESSAGES}`);
  if (injector.counters.injected <= 10) problems.push(`only ${injector.counters.injected} faults injected`);
  const detail = [
    `${timing}, ${injector.describe()}, ${rounds} round(s)`,
    ...unfinished,
    'injector record:',
    ...injector.log.map(
      (f) => `  ${f.command} ${f.key ?? f.tables.join(',')} attempt ${f.attempt}: ${f.timing} ${f.error}`,
    ),
  ].join('\n');
  return { problems, detail };
}

/** Runs `work` over `items`, at most `limit` at a time, in order of start. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await work(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function seedsFromEnv(): number[] | undefined {
  const one = process.env.FAULT_SEED;
  if (one) return [Number(one)];
  const runs = Number(process.env.FAULT_RUNS ?? 0);
  return runs > 0 ? Array.from({ length: runs }, (_, i) => i + 1) : undefined;
}

describe('DynamoDB faults during sends', () => {
  const seeds = seedsFromEnv();
  it.each([
    ['20 % before-send', 'before-send' as const, 11],
    ['20 % after-send (applied, answer lost)', 'after-send' as const, 12],
    ['25 % mixed', 'mixed' as const, 13],
  ])(
    '%s: every notification ends sent, with exactly one provider call',
    async (_name, timing, fixedSeed) => {
      // Prepare
      const base = await createTestContext();
      const failed: string[] = [];

      // Act
      // Seeded runs share nothing but the tables and the receivers (own clients, ids and injector), and each
      // fault is decided by what the call is, not when it comes: several at once replay what each alone does.
      const list = seeds ?? [fixedSeed];
      const reports = await pool(list, Number(process.env.FAULT_CONCURRENCY ?? 4), (seed) =>
        runWithFaults(base, timing, seed),
      );
      for (const [i, report] of reports.entries()) {
        if (report.problems.length > 0)
          failed.push(`seed ${list[i]}: ${report.problems.join('; ')}\n${report.detail}`);
      }
      if (seeds && seeds.length > 1) {
        console.info(`${timing}: ${seeds.length - failed.length} of ${seeds.length} seeded runs passed`);
      }

      // Assess
      expect(failed, failed.join('\n\n')).toEqual([]);
    },
    seeds && seeds.length > 1 ? seeds.length * 60_000 : undefined,
  );
});
