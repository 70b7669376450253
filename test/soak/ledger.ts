// The soak's reconciliation: what should have happened (sessions × attempts × channels) against what the
// tables, the queues, the DLQs, the receivers and the SES emulator say did happen, and whether it balances.
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { LocalReceivers } from '../../local/receivers.ts';
import type { AppContext } from '../../shared/context.ts';
import { CHANNELS, type Channel } from '../../shared/infra/resources.ts';
import { attemptIdFor } from '../../shared/repositories/attempts.ts';
import { parse } from '../../shared/schema.ts';
import type { CrashedAttempt } from '../support/faults.ts';
import type { DuplicateCounts, ProviderCallLog, SenderKill } from './faults.ts';

/** How the soak names its sessions and their addresses: one address per session on every channel. */
export const SOAK_DOMAIN = 'soak.example.com';
export const sessionIdOf = (i: number) => `soak-${String(i).padStart(6, '0')}`;
export const phoneOf = (i: number) => `+1415${String(i).padStart(7, '0')}`;
export const emailOf = (sessionId: string) => `${sessionId}@${SOAK_DOMAIN}`;

export interface SoakFacts {
  readonly sessions: number;
  readonly maxRetries: number;
  readonly calls: ProviderCallLog;
  readonly senderKills: readonly SenderKill[];
  readonly senderKillsPlanned: number;
  readonly senderInvocations: number;
  readonly sweepKills: readonly CrashedAttempt[];
  readonly sweepRuns: number;
  readonly duplicates: DuplicateCounts;
  readonly dlqReplay: { rounds: number; replayed: number };
  readonly outage: { seconds: number; happened: boolean };
  readonly publishOutage: { seconds: number; happened: boolean; refusedBatches: number };
  readonly runtimeSeconds: number;
  readonly quiescent: boolean;
  readonly seed: number;
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface Ledger {
  readonly lines: ReadonlyArray<readonly [string, string | number, string?]>;
  readonly checks: readonly Check[];
  /** Refused provider calls by reason, most frequent first. */
  readonly reasons: ReadonlyArray<readonly [string, number]>;
  readonly balanced: boolean;
}

type Item = Record<string, unknown>;

async function scanAll(ctx: AppContext, table: string, projection: string, names: Record<string, string>) {
  const segments = 4;
  const parts = await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      const out: Item[] = [];
      let startKey: Item | undefined;
      do {
        const page = await ctx.ddb.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: segments,
            ProjectionExpression: projection,
            ExpressionAttributeNames: names,
            ExclusiveStartKey: startKey,
          }),
        );
        out.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return out;
    }),
  );
  return parts.flat();
}

/** Every message a queue holds, received once each and left hidden for 10 minutes (the run is over). */
async function readQueue(
  ctx: AppContext,
  url: string,
): Promise<Array<{ attemptId?: string; channel?: string }>> {
  const out: Array<{ attemptId?: string; channel?: string }> = [];
  if ((await queueDepth(ctx, url)) === 0) return out;
  for (let empty = 0; empty < 2; ) {
    const res = await ctx.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 600,
      }),
    );
    if (!res.Messages?.length) {
      empty++;
      continue;
    }
    for (const m of res.Messages) {
      try {
        const body = JSON.parse(m.Body ?? '{}') as { attemptId?: string; channel?: string };
        out.push({ attemptId: body.attemptId, channel: body.channel });
      } catch {
        out.push({});
      }
    }
  }
  return out;
}

export async function queueDepth(ctx: AppContext, url: string): Promise<number> {
  const out = await ctx.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

const StoreSchema = v.object({
  emails: v.array(v.looseObject({ destination: v.looseObject({ to: v.array(v.string()) }) })),
});

const isOk = (status: number | 'hung') => typeof status === 'number' && status >= 200 && status < 300;

/**
 * Accepted provider calls per `sessionId|channel`, as the providers' side saw them: the receivers' recorded
 * requests (2xx) and the SES emulator's store. Independent of the soak's own call log.
 */
async function receiverSideAccepted(receivers: LocalReceivers, sesEndpoint: string, sessions: number) {
  const perSessionChannel = new Map<string, number>();
  const add = (sessionId: string | undefined, channel: Channel) => {
    const key = `${sessionId ?? '?'}|${channel}`;
    perSessionChannel.set(key, (perSessionChannel.get(key) ?? 0) + 1);
  };
  const byPhone = new Map<string, string>();
  for (let i = 0; i < sessions; i++) byPhone.set(phoneOf(i), sessionIdOf(i));
  const totals = { slack: 0, slackOk: 0, twilio: 0, twilioOk: 0, webhook: 0, webhookOk: 0, sesStore: 0 };
  for (const r of receivers.control.requests('slack')) {
    totals.slack++;
    if (!isOk(r.status)) continue;
    totals.slackOk++;
    const text = (JSON.parse(r.body) as { text?: string }).text ?? '';
    add(/^Hi (soak-\d+),/.exec(text)?.[1], 'slack');
  }
  for (const r of receivers.control.requests('twilio')) {
    totals.twilio++;
    if (!isOk(r.status)) continue;
    totals.twilioOk++;
    const to = new URLSearchParams(r.body).get('To') ?? '';
    add(byPhone.get(to.replace(/^whatsapp:/, '')), to.startsWith('whatsapp:') ? 'whatsapp' : 'sms');
  }
  for (const r of receivers.control.requests('webhook')) {
    totals.webhook++;
    if (!isOk(r.status)) continue;
    totals.webhookOk++;
    add((JSON.parse(r.body) as { sessionId?: string }).sessionId, 'webhook');
  }
  const store = parse(StoreSchema, await (await fetch(`${sesEndpoint}/store`)).json());
  for (const e of store.emails) {
    const to = e.destination.to[0] ?? '';
    if (!to.endsWith(`@${SOAK_DOMAIN}`)) continue;
    totals.sesStore++;
    add(to.slice(0, -SOAK_DOMAIN.length - 1), 'email');
  }
  return { perSessionChannel, totals };
}

export async function reconcile(
  ctx: AppContext,
  receivers: LocalReceivers,
  sesEndpoint: string,
  facts: SoakFacts,
  log: (line: string) => void,
): Promise<Ledger> {
  log('reconciling: scanning the sessions and timeline tables');
  const [sessionItems, timelineItems] = await Promise.all([
    scanAll(ctx, ctx.tables.sessions, 'sessionId, #s, retryCount', { '#s': 'status' }),
    scanAll(ctx, ctx.tables.timeline, 'sessionId, sk, #t, attemptId, #n, #st, channel, #s, reason', {
      '#t': 'type',
      '#n': 'number',
      '#st': 'state',
      '#s': 'status',
    }),
  ]);
  log('reconciling: reading what is left on the channel queues and DLQs');
  const inDlq = new Map<string, number>();
  const onQueue = new Map<string, number>();
  let dlqMessages = 0;
  let queueMessages = 0;
  for (const channel of CHANNELS) {
    for (const m of await readQueue(ctx, ctx.queues[channel].dlqUrl)) {
      dlqMessages++;
      const key = `${m.attemptId}|${m.channel}`;
      inDlq.set(key, (inDlq.get(key) ?? 0) + 1);
    }
    for (const m of await readQueue(ctx, ctx.queues[channel].url)) {
      queueMessages++;
      const key = `${m.attemptId}|${m.channel}`;
      onQueue.set(key, (onQueue.get(key) ?? 0) + 1);
    }
  }
  log('reconciling: the receivers’ recorded requests and the SES store');
  const providerSide = await receiverSideAccepted(receivers, sesEndpoint, facts.sessions);

  // What should exist.
  const expectedAttempts = new Map<string, string>();
  for (let i = 0; i < facts.sessions; i++) {
    const sessionId = sessionIdOf(i);
    for (let n = 1; n <= facts.maxRetries; n++) expectedAttempts.set(attemptIdFor(sessionId, n), sessionId);
  }
  const expectedNotifications = expectedAttempts.size * CHANNELS.length;

  // Attempts.
  const attempts = timelineItems.filter((i) => i.type === 'attempt');
  const attemptIds = new Set(attempts.map((a) => String(a.attemptId)));
  const attemptsQueued = attempts.filter((a) => a.state !== 'dispatched').length;
  const attemptsMissing = [...expectedAttempts.keys()].filter((id) => !attemptIds.has(id)).length;
  const attemptsUnexpected = [...attemptIds].filter((id) => !expectedAttempts.has(id)).length;

  // Outcomes.
  const outcomes = timelineItems.filter((i) => i.type === 'notification');
  const byState = { sent: 0, failed: 0, skipped: 0, sending: 0 };
  const skippedWhy = new Map<string, number>();
  const outcomeOf = new Map<string, string>();
  let outcomeDoubles = 0;
  const sentPerSessionChannel = new Map<string, number>();
  for (const o of outcomes) {
    const status = String(o.status) as keyof typeof byState;
    byState[status] = (byState[status] ?? 0) + 1;
    if (status === 'skipped') skippedWhy.set(String(o.reason), (skippedWhy.get(String(o.reason)) ?? 0) + 1);
    const key = `${o.attemptId}|${o.channel}`;
    if (outcomeOf.has(key)) outcomeDoubles++;
    outcomeOf.set(key, status);
    if (status === 'sent') {
      const sc = `${o.sessionId}|${o.channel}`;
      sentPerSessionChannel.set(sc, (sentPerSessionChannel.get(sc) ?? 0) + 1);
    }
  }

  // Every expected attempt × channel: a final outcome, or a message in a DLQ; anything else is lost.
  let finalOutcomes = 0;
  let inDlqOnly = 0;
  const lostWhy = { noAttempt: 0, noOutcome: 0, stillSending: 0, onQueue: 0 };
  for (const attemptId of expectedAttempts.keys()) {
    for (const channel of CHANNELS) {
      const key = `${attemptId}|${channel}`;
      const status = outcomeOf.get(key);
      if (status && status !== 'sending') {
        finalOutcomes++;
        continue;
      }
      if (inDlq.has(key)) {
        inDlqOnly++;
        continue;
      }
      if (!attemptIds.has(attemptId)) lostWhy.noAttempt++;
      else if (status === 'sending') lostWhy.stillSending++;
      else lostWhy.noOutcome++;
      if (onQueue.has(key)) lostWhy.onQueue++;
    }
  }
  const lost = expectedNotifications - finalOutcomes - inDlqOnly;

  // Provider calls, as the soak's call log saw them (attributed per notification). A notification should
  // have had exactly one accepted call if its outcome is `sent`, none otherwise; anything above is an extra
  // delivery: a second call (a duplicate), or a call whose outcome then said skipped (the redelivery found
  // the attempt superseded). Only a kill in the provider window may cause one.
  const calls = facts.calls;
  const windowKeys = new Set(
    facts.senderKills.filter((k) => k.point === 'afterProviderCall').map((k) => k.key),
  );
  let accepted = 0;
  let duplicateCalls = 0;
  let duplicatedNotifications = 0;
  let deliveredNotRecorded = 0;
  let extraOutsideWindow = 0;
  for (const [key, n] of calls.accepted) {
    accepted += n;
    const extra = n - (outcomeOf.get(key) === 'sent' ? 1 : 0);
    if (n > 1) {
      duplicateCalls += n - 1;
      duplicatedNotifications++;
    }
    if (n >= 1 && outcomeOf.get(key) !== 'sent') deliveredNotRecorded++;
    if (extra > 0 && !windowKeys.has(key)) extraOutsideWindow += extra;
  }
  let sentWithoutCall = 0;
  for (const [key, status] of outcomeOf) if (status === 'sent' && !calls.accepted.has(key)) sentWithoutCall++;
  const extraDeliveries = duplicateCalls + deliveredNotRecorded;
  const refused = CHANNELS.reduce((sum, c) => sum + calls.refused[c], 0);
  const windowKills = facts.senderKills.filter((k) => k.point === 'afterProviderCall').length;
  const beforeKills = facts.senderKills.length - windowKills;

  // The same, as the providers' side saw it (receivers and the SES store), per session × channel.
  let receiverExtra = 0;
  let receiverMissing = 0;
  const scKeys = new Set([...providerSide.perSessionChannel.keys(), ...sentPerSessionChannel.keys()]);
  for (const key of scKeys) {
    const diff = (providerSide.perSessionChannel.get(key) ?? 0) - (sentPerSessionChannel.get(key) ?? 0);
    if (diff > 0) receiverExtra += diff;
    else receiverMissing -= diff;
  }
  const t = providerSide.totals;
  const a = calls.acceptedByChannel;
  const r = calls.refused;
  const u = calls.unanswered;
  // Per provider: every request it saw was made by a sender (it saw no more calls than the log made), and an
  // accepted call the sender did not see accepted can only be one that got no answer (a timeout).
  const providers = [
    {
      name: 'slack',
      seen: t.slack,
      ok: t.slackOk,
      made: a.slack + r.slack,
      accepted: a.slack,
      unanswered: u.slack,
    },
    {
      name: 'twilio',
      seen: t.twilio,
      ok: t.twilioOk,
      made: a.sms + a.whatsapp + r.sms + r.whatsapp,
      accepted: a.sms + a.whatsapp,
      unanswered: u.sms + u.whatsapp,
    },
    {
      name: 'webhook',
      seen: t.webhook,
      ok: t.webhookOk,
      made: a.webhook + r.webhook,
      accepted: a.webhook,
      unanswered: u.webhook,
    },
    {
      name: 'ses',
      seen: t.sesStore + (r.email - calls.sesRefusedByWrapper),
      ok: t.sesStore,
      made: a.email + r.email - calls.sesRefusedByWrapper,
      accepted: a.email,
      unanswered: u.email,
    },
  ];
  const lostAnswers = providers.reduce((sum, p) => sum + Math.max(0, p.ok - p.accepted), 0);
  const logConsistent = providers.every(
    (p) => p.seen <= p.made && p.ok >= p.accepted && p.ok - p.accepted <= p.unanswered,
  );

  const sessionsByStatus = new Map<string, number>();
  let sessionsDone = 0;
  for (const s of sessionItems) {
    const status = String(s.status);
    sessionsByStatus.set(status, (sessionsByStatus.get(status) ?? 0) + 1);
    if (status === 'exhausted' && s.retryCount === facts.maxRetries) sessionsDone++;
  }
  const sweepAfterClaim = facts.sweepKills.filter((k) => k.point === 'afterClaim').length;
  const dlqDeadLettered = facts.dlqReplay.replayed + dlqMessages;

  const checks: Check[] = [
    {
      name: 'lost = 0',
      ok: lost === 0,
      detail: `${lost} attempt × channel without a final outcome or a DLQ message (no attempt ${lostWhy.noAttempt}, no outcome ${lostWhy.noOutcome}, still sending ${lostWhy.stillSending}; of these on a channel queue ${lostWhy.onQueue})`,
    },
    {
      name: 'duplicate provider calls ≤ provider-window kills',
      ok: receiverExtra <= windowKills,
      detail: `${receiverExtra} ≤ ${windowKills} (as the providers saw them; ${lostAnswers} of them were calls accepted by the provider whose answer the sender never got)`,
    },
    {
      name: 'every extra delivery the senders saw is on a notification killed in the provider window',
      ok: extraOutsideWindow === 0 && extraDeliveries <= windowKills,
      detail: `${extraDeliveries} extra (${duplicateCalls} second calls + ${deliveredNotRecorded} delivered but recorded otherwise) ≤ ${windowKills}; outside the window: ${extraOutsideWindow}`,
    },
    {
      name: 'attempts made = attempts expected, each once, all dispatched',
      ok:
        attempts.length === expectedAttempts.size &&
        attemptIds.size === attempts.length &&
        attemptsMissing === 0 &&
        attemptsUnexpected === 0 &&
        attemptsQueued === 0,
      detail: `${attempts.length} items, ${attemptIds.size} distinct, ${attemptsMissing} missing, ${attemptsUnexpected} unexpected, ${attemptsQueued} still queued`,
    },
    {
      name: 'every session exhausted after its last attempt',
      ok: sessionsDone === facts.sessions,
      detail: `${sessionsDone} of ${facts.sessions}`,
    },
    {
      name: 'one outcome item per attempt × channel, none failed',
      ok: outcomeDoubles === 0 && byState.failed === 0,
      detail: `${outcomeDoubles} doubles, ${byState.failed} failed (no permanent error was injected)`,
    },
    {
      name: 'call log consistent with the receivers and the SES store',
      ok: logConsistent,
      detail: providers
        .map(
          (p) =>
            `${p.name} saw ${p.seen}/${p.ok} ok, senders made ${p.made}/${p.accepted} ok (${p.unanswered} unanswered)`,
        )
        .join('; '),
    },
    {
      name: 'a provider call behind every sent outcome',
      ok: receiverMissing === 0 && sentWithoutCall === 0,
      detail: `sent outcomes without an accepted call: ${receiverMissing} per the providers, ${sentWithoutCall} per the call log`,
    },
    {
      name: 'channel queues empty',
      ok: queueMessages === 0,
      detail: `${queueMessages} message(s) left`,
    },
  ];

  const lines: Array<readonly [string, string | number, string?]> = [
    ['sessions', facts.sessions, [...sessionsByStatus].map(([s, n]) => `${s} ${n}`).join(', ')],
    ['attempts expected', expectedAttempts.size, `sessions × maxRetries ${facts.maxRetries}`],
    [
      'attempts made',
      attempts.length,
      `${attemptIds.size} distinct; queued ${attemptsQueued}; missing ${attemptsMissing}`,
    ],
    ['notifications expected', expectedNotifications, `attempts × ${CHANNELS.length} channels`],
    ['outcomes sent', byState.sent],
    ['outcomes failed', byState.failed],
    [
      'outcomes skipped',
      byState.skipped,
      [...skippedWhy].map(([why, n]) => `${why} ${n}`).join(', ') || undefined,
    ],
    ['outcomes sending (not final)', byState.sending],
    [
      'provider calls',
      accepted + refused,
      `accepted ${accepted}, refused ${refused} (SES wrapper ${calls.sesRefusedByWrapper}, unanswered ${CHANNELS.reduce((sum, ch) => sum + u[ch], 0)})`,
    ],
    ['  accepted by channel', accepted, CHANNELS.map((c) => `${c} ${a[c]}`).join(', ')],
    [
      'duplicate provider calls',
      receiverExtra,
      `accepted by the providers beyond one per sent outcome: ${extraDeliveries} seen by the senders (${duplicateCalls} second calls on ${duplicatedNotifications} attempt × channel, ${deliveredNotRecorded} delivered but recorded skipped), ${lostAnswers} accepted calls whose answer was lost`,
    ],
    ['provider-window kills', windowKills, 'sender killed after the provider call, before the outcome write'],
    ['other sender kills', beforeKills, 'after the sending claim, before the provider call'],
    [
      'sender invocations',
      facts.senderInvocations,
      `kills planned ${facts.senderKillsPlanned}, landed ${facts.senderKills.length}`,
    ],
    [
      'sweep kills',
      facts.sweepKills.length,
      `after claim ${sweepAfterClaim}, after publish ${facts.sweepKills.length - sweepAfterClaim}; ${facts.sweepRuns} runs`,
    ],
    [
      'duplicate deliveries injected',
      facts.duplicates.copies + facts.duplicates.sameRecord,
      `copies on the queue ${facts.duplicates.copies}, same record again ${facts.duplicates.sameRecord}`,
    ],
    [
      'dead-lettered',
      dlqDeadLettered,
      `replayed ${facts.dlqReplay.replayed} in ${facts.dlqReplay.rounds} round(s) after the ${facts.outage.happened ? `${facts.outage.seconds} s` : 'skipped'} outage`,
    ],
    ['messages in DLQs', dlqMessages, `${inDlqOnly} attempt × channel accounted only by a DLQ message`],
    ['messages left on channel queues', queueMessages],
    [
      'superseded (skipped stale_fence)',
      `${(((skippedWhy.get('stale_fence') ?? 0) / expectedNotifications) * 100).toFixed(2)} %`,
      `${skippedWhy.get('stale_fence') ?? 0} of ${expectedNotifications} notifications: a reminder made while the previous one was still on its way`,
    ],
    [
      'publish outage',
      facts.publishOutage.refusedBatches,
      facts.publishOutage.happened
        ? `batches refused while the sweepers had no sqs:SendMessage on the email queue for ${facts.publishOutage.seconds} s`
        : 'none',
    ],
    ['lost', lost, 'expected − final outcomes − DLQ-only'],
    [
      'runtime',
      `${Math.round(facts.runtimeSeconds)} s`,
      `${facts.quiescent ? 'quiescent' : 'stopped by the time bound'}; seed ${facts.seed}`,
    ],
  ];
  const reasons = [...calls.reasons].sort((x, y) => y[1] - x[1]).slice(0, 12);
  return { lines, checks, reasons, balanced: checks.every((c) => c.ok) };
}

export function formatLedger(ledger: Ledger): string {
  const width = Math.max(...ledger.lines.map(([name]) => name.length));
  const valueWidth = Math.max(...ledger.lines.map(([, value]) => String(value).length));
  const rows = ledger.lines.map(
    ([name, value, note]) =>
      `  ${name.padEnd(width)}  ${String(value).padStart(valueWidth)}${note ? `  ${note}` : ''}`,
  );
  const checks = ledger.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}`);
  return [
    'soak ledger',
    ...rows,
    '',
    `balance: ${ledger.balanced ? 'BALANCED' : 'NOT BALANCED'}`,
    ...checks,
    '',
    'refused provider calls by reason',
    ...ledger.reasons.map(([reason, n]) => `  ${String(n).padStart(7)}  ${reason}`),
    '',
  ].join('\n');
}
