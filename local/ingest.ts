// Product events on this machine (#14), as the ingest function runs them in AWS: the deps it applies events
// with (the checkout timer queue on the SQS emulator), a poller on that queue that behaves like the event
// source mapping, the live log lines of each outcome, and the demo's Stripe checkout that is abandoned,
// reminded, and recovered through its recovery link, its completion signed like Stripe signs it.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { AppContext } from '../shared/context.ts';
import { handleBusEvent, handleTimerBatch } from '../shared/events/handlers.ts';
import type { IngestDeps, IngestLine } from '../shared/events/ingest.ts';
import { queueTimers } from '../shared/events/timers.ts';
import { getSession } from '../shared/repositories/sessions.ts';
import { describeAttribution } from '../shared/usecases/attribution.ts';
import { REPO_ROOT } from './local-env.ts';
import { startQueuePoller } from './queue-poller.ts';

type Say = (source: string, message: string) => void;

export function describeIngestLine(line: IngestLine): string {
  if (line.kind === 'rejected') return `rejected ${line.id ?? ''} (${line.via}): ${line.reason}`;
  if (line.kind === 'ignored') return `ignored  ${line.type ?? ''} ${line.id ?? ''}: ${line.reason}`;
  const r = line.result;
  const status = r.status ? ` → ${r.status}` : '';
  const reason = r.reason && r.outcome !== 'applied' ? ` (${r.reason})` : '';
  return `${r.outcome.padEnd(8)} ${line.type} ${r.sessionId ?? ''}${status}${reason}  ${line.via}`;
}

/** The ingest deps of a local run, and a poller on the checkout timer queue; returns them and a stop. */
export function startLocalIngest(input: {
  ctx: AppContext;
  sqs: SQSClient;
  timerQueueUrl: string;
  abandonAfterMinutes: number;
  say: Say;
}): { deps: IngestDeps; stop: () => Promise<void> } {
  const deps: IngestDeps = {
    timers: queueTimers(input.ctx, input.timerQueueUrl),
    abandonAfterMinutes: input.abandonAfterMinutes,
    onOutcome: (line) => input.say('events', describeIngestLine(line)),
  };
  const poller = startQueuePoller({
    sqs: input.sqs,
    queueUrl: input.timerQueueUrl,
    handler: (event) => handleTimerBatch(input.ctx, deps, event),
    batchSize: 10,
    waitSeconds: 1,
  });
  return { deps, stop: () => poller.stop() };
}

/** `t=<now>,v1=<HMAC-SHA256 of "<t>.<body>">`: Stripe's webhook signature, for the demo's customer. */
export function stripeSignature(secret: string, body: string, at: Date = new Date()): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex')}`;
}

interface StripeFixture {
  detail: { id: string; created: number; data: { object: Record<string, unknown> } };
  [key: string]: unknown;
}

function stripeFixture(name: string): StripeFixture {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'events', name), 'utf8')) as StripeFixture;
}

/**
 * The demo's Stripe checkout (events/stripe-checkout-expired.json, dated now): it expires onto the bus path,
 * stalls under the demo policy, gets its first reminder; once the email is sent the customer comes back
 * through the recovery link, and Stripe's `checkout.session.completed` with `recovered_from` reaches the
 * signed webhook route. The session ends recovered, attributed to that attempt and its channels.
 */
export async function runStripeDemo(input: {
  ctx: AppContext;
  deps: IngestDeps;
  apiUrl: string;
  stripeSecret: string;
  say: Say;
  stopped: () => boolean;
}): Promise<void> {
  const { ctx, say } = input;
  const suffix = randomBytes(6).toString('hex');
  const abandoned = `cs_test_demo_${suffix}`;
  const expired = stripeFixture('stripe-checkout-expired.json');
  const now = Math.floor(Date.now() / 1000);
  expired.id = randomBytes(16).toString('hex');
  expired.time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  expired.detail.id = `evt_demo_expired_${suffix}`;
  expired.detail.created = now;
  expired.detail.data.object.id = abandoned;
  await handleBusEvent(ctx, input.deps, expired);
  say(
    'demo',
    `Stripe checkout ${abandoned} expired (49.00 USD, ada@example.com): stalled, its recovery link kept`,
  );
  for (;;) {
    if (input.stopped()) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const s = await getSession(ctx, abandoned);
    if (s && s.retryCount >= 1 && s.lastNotifiedAt) break;
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const completed = stripeFixture('stripe-checkout-completed.json').detail;
  completed.id = `evt_demo_completed_${suffix}`;
  completed.created = Math.floor(Date.now() / 1000);
  completed.data.object.id = `cs_test_demo_paid_${suffix}`;
  completed.data.object.recovered_from = abandoned;
  const body = JSON.stringify(completed);
  const res = await fetch(`${input.apiUrl}/v1/public/hooks/stripe`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'stripe-signature': stripeSignature(input.stripeSecret, body),
    },
    body,
  });
  const s = await getSession(ctx, abandoned);
  say(
    'demo',
    `the customer came back through the recovery link: Stripe webhook → ${res.status}; ${abandoned} ${s?.recovery ? describeAttribution(s.recovery) : (s?.status ?? 'unknown')}`,
  );
}
