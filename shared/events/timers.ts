// A Shopify checkout's abandonment clock (#14): after each checkout event a timer message goes on the checkout
// timer queue, due when the checkout would count as abandoned. SQS delays a message 15 minutes at most, so a
// timer not yet due is sent again for the time left (a few hops for an hour; the ingest function allows
// this loop past Lambda's recursive-loop detection, bounded by timerHops). When due it becomes a stall
// event that applies only while the checkout event that set it is still the session's latest (an update
// restarts the clock) and the session is still `active` (an order ended it). The stall is ours, not the
// shop's: it is dated with the checkout's own time and never moves the session's event clock, so an order
// placed before the timer fired but delivered after it still ends the session (#18). Failed timer messages
// go, after the queue's retries, to the events DLQ, whose alarm pages.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { SESSION_ID } from '../domain/session.ts';
import { isoDateTime, parse } from '../schema.ts';
import type { EventSource, ProductEvent } from './model.ts';

/** SQS's longest message delay. */
export const MAX_DELAY_SECONDS = 900;

/**
 * How many ingest invocations a timer's chain takes: the one that set it, then one per 15 min of the window
 * (the last fires it). Each hop is the ingest function sending to the queue it consumes, a chain Lambda's recursive-loop
 * detection would cut after about 16 (4 h), so ingest runs with `RecursiveLoop: Allow` and this is its
 * bound (673 for the longest window, 7 days).
 */
export function timerHops(windowMinutes: number): number {
  return Math.ceil((windowMinutes * 60) / MAX_DELAY_SECONDS) + 1;
}

export const TimerMessageSchema = v.strictObject({
  v: v.literal(1),
  type: v.literal('checkout-abandon'),
  source: v.picklist(['shopify']),
  sessionId: SESSION_ID,
  /** The checkout event that set the timer. */
  eventId: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  /** The checkout event's own time (absent on timers set before #18: their stall is dated `dueAt`). */
  eventAt: v.optional(isoDateTime),
  dueAt: isoDateTime,
});
export type TimerMessage = v.InferOutput<typeof TimerMessageSchema>;

export interface CheckoutTimers {
  set(input: {
    source: EventSource;
    sessionId: string;
    eventId: string;
    eventAt?: Date | string;
    dueAt: Date;
  }): Promise<void>;
}

/** Timers on an SQS queue (the same code against fauxqs locally and SQS in AWS). */
export function queueTimers(
  ctx: AppContext,
  queueUrl: string,
  /** The longest delay of one hop; tests that move a manual clock set 0. */
  maxDelaySeconds = MAX_DELAY_SECONDS,
): CheckoutTimers {
  return {
    async set(input) {
      const message: TimerMessage = {
        v: 1,
        type: 'checkout-abandon',
        source: 'shopify',
        sessionId: input.sessionId,
        eventId: input.eventId,
        ...(input.eventAt ? { eventAt: new Date(input.eventAt).toISOString() } : {}),
        dueAt: input.dueAt.toISOString(),
      };
      const seconds = Math.ceil((input.dueAt.getTime() - ctx.clock().getTime()) / 1000);
      await ctx.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(message),
          DelaySeconds: Math.max(0, Math.min(maxDelaySeconds, seconds)),
        }),
      );
    },
  };
}

/**
 * A timer message as received: a stall event when it is due, or undefined after sending it on for the time
 * left. Throws on a body that is not a timer message (it then reaches the DLQ: a bug, not an input).
 */
export async function onTimerMessage(
  ctx: AppContext,
  timers: CheckoutTimers,
  body: string,
): Promise<ProductEvent | undefined> {
  const timer = parse(TimerMessageSchema, JSON.parse(body));
  const dueAt = new Date(timer.dueAt);
  // A second early: SQS may deliver a delayed message a little before its time.
  if (dueAt.getTime() - ctx.clock().getTime() > 1000) {
    await timers.set({ ...timer, dueAt });
    return undefined;
  }
  return {
    source: timer.source,
    id: `abandoned:${timer.eventId}`,
    type: 'checkout abandoned',
    time: timer.eventAt ? new Date(timer.eventAt) : dueAt,
    synthetic: true,
    sessionId: timer.sessionId,
    action: 'stall',
    startStatus: 'stalled',
    onlyIfLastEventId: timer.eventId,
    onlyFrom: ['active'],
    fields: {},
  };
}
