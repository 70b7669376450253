// The ingest function's non-HTTP inputs (#14), shared by the Lambda, the local runtime and `npm run events`:
// an event from the stage's bus, and a batch of checkout timer messages from their queue.
import type { SQSBatchResponse } from 'aws-lambda';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { logger } from '../observability/logger.ts';
import { safeParse } from '../schema.ts';
import { mapEventBridgeEvent } from './eventbridge.ts';
import { countRejected, type IngestDeps, ingestMapped } from './ingest.ts';
import { type ApplyResult, RejectedEventError } from './model.ts';
import { onTimerMessage } from './timers.ts';

/**
 * An event delivered by an EventBridge rule. A rejected event (malformed, unknown) is logged and counted and
 * not retried: retrying cannot make it readable. Anything else (DynamoDB unavailable) throws, so Lambda
 * retries it and then sends it to the events DLQ, whose alarm pages.
 */
export async function handleBusEvent(
  ctx: AppContext,
  deps: IngestDeps,
  raw: unknown,
): Promise<ApplyResult | undefined> {
  const source = typeof raw === 'object' && raw !== null && 'source' in raw ? String(raw.source) : 'unknown';
  try {
    return await ingestMapped(
      ctx,
      deps,
      mapEventBridgeEvent(raw, {
        abandonAfterMinutes: deps.abandonAfterMinutes,
        ...(deps.shopifyOrgId ? { shopifyOrgId: deps.shopifyOrgId } : {}),
      }),
      `eventbridge ${source}`,
    );
  } catch (error) {
    if (error instanceof RejectedEventError) {
      await countRejected(ctx, deps, error, `eventbridge ${source}`);
      return undefined;
    }
    throw error;
  }
}

const SqsEventSchema = v.object({
  Records: v.array(
    v.looseObject({ messageId: v.string(), body: v.string(), eventSource: v.literal('aws:sqs') }),
  ),
});

export function isSqsEvent(raw: unknown): boolean {
  return safeParse(SqsEventSchema, raw).success;
}

/** Checkout timers: each record on its own; a failed one is retried by SQS, then lands in the events DLQ. */
export async function handleTimerBatch(
  ctx: AppContext,
  deps: IngestDeps,
  raw: unknown,
): Promise<SQSBatchResponse> {
  const event = safeParse(SqsEventSchema, raw);
  if (!event.success) throw new Error('not an SQS event');
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.data.Records) {
    try {
      if (!deps.timers) throw new Error('no checkout timer queue is configured');
      const due = await onTimerMessage(ctx, deps.timers, record.body);
      if (due) await ingestMapped(ctx, deps, due, 'checkout timer');
    } catch (error) {
      logger.error('checkout timer failed; SQS will retry it', { messageId: record.messageId, error });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}
