// The email sender's side of the reputation guard (./guard.ts): while the channel is paused, each record
// of a batch goes back onto its queue with the longest delay SQS allows (15 min) instead of being sent, and
// counts as done. Its receive count starts afresh with the copy, so a long pause never walks a message into
// the DLQ; the outcome protocol makes the copy harmless if the original also comes back. The pause state
// is read at most every 15 s per container. The email sender allows this loop past Lambda's recursive-loop
// detection (it would cut it after about 4 h); pausedHops is its bound.
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { AppContext } from '../context.ts';
import type { Channel } from '../infra/resources.ts';
import { logger } from '../observability/logger.ts';
import type { SenderHandler } from '../senders/handler.ts';
import { readPause } from './guard.ts';

export const PAUSED_REDELIVERY_SECONDS = 900;
const CACHE_MS = 15_000;

/**
 * How many times a message paused this long is received (each a send back to the email queue, then the
 * delivery once resumed). Lambda's recursive-loop detection would cut that chain after about 16 (4 h), so
 * the email sender runs with `RecursiveLoop: Allow` and this is its bound: 4 an hour, 96 a day of pause.
 */
export function pausedHops(pauseMs: number): number {
  return Math.ceil(pauseMs / 1000 / PAUSED_REDELIVERY_SECONDS) + 1;
}

export interface PauseGateOptions {
  readonly ctx: AppContext;
  readonly channel: Channel;
  /** Called with the number of records put back (the local runtime's console, tests). */
  readonly onDeferred?: (count: number, reason: string | undefined) => void;
  readonly cacheMs?: number;
  /** The delay of each copy put back; tests that move a manual clock set 0. */
  readonly redeliverySeconds?: number;
}

export function pausable(handler: SenderHandler, options: PauseGateOptions): SenderHandler {
  const { ctx, channel } = options;
  const cacheMs = options.cacheMs ?? CACHE_MS;
  const redeliverySeconds = options.redeliverySeconds ?? PAUSED_REDELIVERY_SECONDS;
  let cached: { at: number; paused: boolean; reason?: string } | undefined;

  async function pauseState() {
    const now = Date.now();
    if (!cached || now - cached.at >= cacheMs) {
      const state = await readPause(ctx, channel);
      cached = { at: now, paused: state.paused, reason: state.reason };
    }
    return cached;
  }

  return async (event: SQSEvent, context) => {
    const state = await pauseState();
    if (!state.paused) return handler(event, context);
    const queueUrl = ctx.queues[channel]?.url;
    const records = event.Records ?? [];
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (let i = 0; i < records.length; i += 10) {
      const chunk = records.slice(i, i + 10);
      try {
        const out = await ctx.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((r, n) => ({
              Id: String(n),
              MessageBody: r.body,
              DelaySeconds: redeliverySeconds,
            })),
          }),
        );
        for (const failed of out.Failed ?? []) {
          const record = chunk[Number(failed.Id)];
          if (record) failures.push({ itemIdentifier: record.messageId });
        }
      } catch (error) {
        // Not put back: the originals come back after their visibility timeout and meet the gate again.
        logger.error('could not defer messages while sending is paused', { channel, error: String(error) });
        for (const record of chunk) failures.push({ itemIdentifier: record.messageId });
      }
    }
    const deferred = records.length - failures.length;
    logger.warn('sending is paused by the reputation guard; messages wait on the queue', {
      channel,
      deferred,
      reason: state.reason,
    });
    options.onDeferred?.(deferred, state.reason);
    return { batchItemFailures: failures };
  };
}
