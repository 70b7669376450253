// The SQS-triggered sender Lambda for one channel: Powertools BatchProcessor with partial batch responses,
// so one bad record never fails its batch-mates. Per record: parse the body against the message contract
// (a bad one is logged with the validation error and failed, so it reaches the DLQ after maxReceiveCount),
// deliver it, and on a retryable error stretch that record's visibility to the provider's Retry-After
// before failing it. Sender metrics are published once per invocation, dimension `channel`.
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as v from 'valibot';
import { type AppContext, type Clock, contextFromEnv } from '../context.ts';
import { optionalEnv } from '../env.ts';
import { DIMENSIONS, SENDER_METRICS, SKIP_METRICS } from '../infra/metrics.ts';
import { CHANNEL_QUEUES, type Channel } from '../infra/resources.ts';
import { type ChannelMessage, ChannelMessageSchema } from '../messages.ts';
import { logger } from '../observability/logger.ts';
import { metrics } from '../observability/metrics.ts';
import { reportChannelHealth } from '../repositories/channel-health.ts';
import { type Infer, safeParse, text } from '../schema.ts';
import type { ChannelConfigSource } from './config.ts';
import {
  type ChannelHealthReporter,
  type DeliveryDeps,
  type DeliveryFaults,
  type DeliveryLogger,
  type DeliveryResult,
  deliverMessage,
  type KeptReceiptsApplier,
  RetryableDeliveryError,
} from './deliver.ts';
import type { ProviderSource } from './providers.ts';

/** SQS caps a message's visibility at 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

class InvalidChannelMessageError extends Error {
  constructor(
    message: string,
    readonly issues: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InvalidChannelMessageError';
  }
}

export interface SenderHandlerOptions {
  /** Defaults to the deployed function's context from env, built once at cold start. */
  readonly ctx?: AppContext;
  /** Where the channel's settings and credentials come from (see ./lambda.ts for a deployed sender's). */
  readonly config: ChannelConfigSource;
  /** The channel's provider, memoised by configuration (`cachedProviders`); a deployed sender has only its own. */
  readonly providers: ProviderSource;
  readonly clock?: Clock;
  readonly leaseSeconds?: number;
  readonly stage?: string;
  readonly log?: DeliveryLogger;
  /** Called after each record with what happened to it (the local runtime's console, tests, benchmarks). */
  readonly onResult?: (result: RecordResult) => void;
  /**
   * Test-only crash points (test/faults and the soak; production wiring never passes them, so they are off
   * unless given). A hook that throws kills the whole invocation as a killed Lambda would: the error is
   * rethrown out of the handler, no partial batch response, no metrics, so the mapping deletes nothing and
   * every record of the batch comes back. (Batch-mates already in flight finish their step; a real kill
   * would freeze them too, but their messages come back all the same.)
   */
  readonly faults?: DeliveryFaults;
  /** See DeliveryDeps.keptReceipts: the Twilio senders' only. */
  readonly keptReceipts?: KeptReceiptsApplier;
}

export type RecordResult =
  | { readonly messageId: string; readonly outcome: DeliveryResult }
  | { readonly messageId: string; readonly error: Error };

export type SenderHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

const RecordSchema = v.looseObject({
  messageId: text(1),
  receiptHandle: text(1),
  body: v.string(),
  attributes: v.optional(v.looseObject({ ApproximateReceiveCount: v.optional(v.string()) })),
});

const EventSchema = v.looseObject({ Records: v.array(v.unknown()) });

function parseBody(record: Infer<typeof RecordSchema>, channel: Channel): ChannelMessage {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch (error) {
    throw new InvalidChannelMessageError('the message body is not JSON', [{ message: String(error) }], {
      cause: error,
    });
  }
  const parsed = safeParse(ChannelMessageSchema, json);
  if (!parsed.success) {
    throw new InvalidChannelMessageError(
      'the message does not match the channel message contract',
      parsed.issues,
    );
  }
  if (parsed.data.channel !== channel) {
    throw new InvalidChannelMessageError(`a ${parsed.data.channel} message reached the ${channel} queue`, [
      { path: ['channel'], message: `expected ${channel}` },
    ]);
  }
  return parsed.data;
}

/** How many times SQS has handed this record out (1 on the first receive). */
function receiveCount(record: Infer<typeof RecordSchema>): number {
  const n = Number(record.attributes?.ApproximateReceiveCount ?? 1);
  return Number.isFinite(n) && n >= 1 ? n : 1;
}

interface Tally {
  sent: number;
  failed: number;
  skipped: number;
  misconfigured: number;
  /** Sends whose best-effort writes after the send did not land in time (deliver.ts `missed`). */
  bookkeepingMissed: number;
  skippedBy: Map<string, number>;
  durations: number[];
}

/** A skip reason as a metric dimension: its code, without the free text some reasons carry after `: `. */
function skipReasonDimension(reason: string): string {
  return reason.split(': ')[0]?.slice(0, 64) || 'unknown';
}

function publishMetrics(channel: Channel, tally: Tally): void {
  // Synchronous from first add to publish: in a process that hosts several senders (the local runtime)
  // no other handler can slip its metrics under this channel's dimension.
  metrics.addDimension(DIMENSIONS.channel, channel);
  metrics.addMetric(SENDER_METRICS.sent, MetricUnit.Count, tally.sent);
  metrics.addMetric(SENDER_METRICS.failed, MetricUnit.Count, tally.failed);
  metrics.addMetric(SENDER_METRICS.skipped, MetricUnit.Count, tally.skipped);
  metrics.addMetric(SENDER_METRICS.misconfigured, MetricUnit.Count, tally.misconfigured);
  metrics.addMetric(SENDER_METRICS.bookkeepingMissed, MetricUnit.Count, tally.bookkeepingMissed);
  for (const ms of tally.durations)
    metrics.addMetric(SENDER_METRICS.sendDurationMs, MetricUnit.Milliseconds, ms);
  metrics.publishStoredMetrics();
  for (const [reason, count] of tally.skippedBy) {
    const single = metrics.singleMetric();
    single.addDimensions({ [DIMENSIONS.channel]: channel, [DIMENSIONS.reason]: reason });
    single.addMetric(SKIP_METRICS.skippedByReason, MetricUnit.Count, count);
  }
}

/** Minimum time between two reports that a channel is still misconfigured (per running sender). */
const MISCONFIGURED_REPORT_EVERY_MS = 60_000;

/**
 * Reports the channel's health to the control table on a change, and while misconfigured at most once a
 * minute; best effort (the record fails and dead-letters either way, and the DLQ alarm pages).
 */
function channelHealthReporter(
  ctx: AppContext,
  channel: Channel,
  log: DeliveryLogger,
): ChannelHealthReporter {
  let last: { misconfigured: boolean; at: number } | undefined;
  const report = async (misconfigured: boolean, at: Date, reason?: string) => {
    last = { misconfigured, at: at.getTime() };
    try {
      await reportChannelHealth(ctx, channel, { misconfigured, reason, at });
    } catch (error) {
      last = undefined;
      log.warn('could not record the channel health', { channel, error: String(error) });
    }
  };
  return {
    async misconfigured(reason, at) {
      if (last?.misconfigured && at.getTime() - last.at < MISCONFIGURED_REPORT_EVERY_MS) return;
      await report(true, at, reason);
    },
    async working(at) {
      if (last && !last.misconfigured) return;
      await report(false, at);
    },
  };
}

export function createSenderHandler(channel: Channel, options: SenderHandlerOptions): SenderHandler {
  const ctx = options.ctx ?? contextFromEnv();
  const clock = options.clock ?? ctx.clock;
  const deps: DeliveryDeps = {
    ctx,
    clock,
    config: options.config,
    providers: options.providers,
    leaseSeconds: options.leaseSeconds,
    stage: options.stage ?? optionalEnv('STAGE'),
    log: options.log,
    health: channelHealthReporter(ctx, channel, options.log ?? logger),
    ...(options.keptReceipts ? { keptReceipts: options.keptReceipts } : {}),
  };
  const log = options.log ?? logger;
  const queueUrl = ctx.queues[channel]?.url;
  const maxReceiveCount = CHANNEL_QUEUES.find((q) => q.channel === channel)?.maxReceiveCount ?? 1;

  async function delayRedelivery(record: SQSRecord, seconds: number): Promise<void> {
    if (!queueUrl) return;
    const visibility = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(seconds)));
    try {
      await ctx.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: visibility,
        }),
      );
    } catch (error) {
      // The record still fails; it just comes back after the queue's own visibility timeout instead.
      log.warn('could not delay the redelivery', {
        channel,
        messageId: record.messageId,
        error: String(error),
      });
    }
  }

  /** Per invocation: the hooks' first throw is remembered, so the invocation can die of it. */
  function crashingFaults(faults: DeliveryFaults, crash: { error?: unknown }): DeliveryFaults {
    const guard =
      <A extends unknown[]>(hook: ((...args: A) => void | Promise<void>) | undefined) =>
      async (...args: A) => {
        try {
          await hook?.(...args);
        } catch (error) {
          crash.error ??= error;
          throw error;
        }
      };
    return {
      beforeProviderCall: guard(faults.beforeProviderCall?.bind(faults)),
      afterProviderCall: guard(faults.afterProviderCall?.bind(faults)),
    };
  }

  return async (event, context) => {
    const envelope = safeParse(EventSchema, event);
    if (!envelope.success) throw new InvalidChannelMessageError('not an SQS event', envelope.issues);
    const tally: Tally = {
      sent: 0,
      failed: 0,
      skipped: 0,
      misconfigured: 0,
      bookkeepingMissed: 0,
      skippedBy: new Map(),
      durations: [],
    };
    const crash: { error?: unknown } = {};
    const remaining = context?.getRemainingTimeInMillis
      ? { remainingMs: () => context.getRemainingTimeInMillis() }
      : {};
    const invocationDeps: DeliveryDeps = options.faults
      ? { ...deps, ...remaining, faults: crashingFaults(options.faults, crash) }
      : { ...deps, ...remaining };

    const handleRecord = async (raw: SQSRecord): Promise<void> => {
      const record = safeParse(RecordSchema, raw);
      if (!record.success) throw new InvalidChannelMessageError('not an SQS record', record.issues);
      const messageId = record.data.messageId;
      let message: ChannelMessage;
      try {
        message = parseBody(record.data, channel);
      } catch (error) {
        const invalid = error as InvalidChannelMessageError;
        log.error('invalid channel message rejected', {
          channel,
          messageId,
          receiveCount: record.data.attributes?.ApproximateReceiveCount,
          error: invalid.message,
          issues: invalid.issues,
        });
        options.onResult?.({ messageId, error: invalid });
        throw error;
      }
      try {
        const outcome = await deliverMessage(invocationDeps, message);
        if (outcome.status === 'sent') {
          tally.sent += 1;
          if (outcome.missed) tally.bookkeepingMissed += 1;
        } else if (outcome.status === 'failed') tally.failed += 1;
        else {
          tally.skipped += 1;
          const reason = skipReasonDimension(outcome.status === 'skipped' ? outcome.reason : 'duplicate');
          tally.skippedBy.set(reason, (tally.skippedBy.get(reason) ?? 0) + 1);
        }
        if ('durationMs' in outcome) tally.durations.push(Math.round(outcome.durationMs * 100) / 100);
        options.onResult?.({ messageId, outcome });
      } catch (error) {
        // A simulated kill: a dead process neither logs nor reports (only fault hooks set `crash`).
        if (crash.error !== undefined && error === crash.error) throw error;
        if (error instanceof RetryableDeliveryError) {
          if (error.kind === 'misconfigured') tally.misconfigured += 1;
          if (error.kind === 'transient') {
            // A failure counts when it is final: this was the last receive, the message goes to the DLQ.
            // Earlier receives are retries of the same send, not failures of their own.
            if (receiveCount(record.data) >= maxReceiveCount) tally.failed += 1;
            if (error.durationMs !== undefined)
              tally.durations.push(Math.round(error.durationMs * 100) / 100);
          }
          if (error.retryAfterSeconds !== undefined) await delayRedelivery(raw, error.retryAfterSeconds);
        } else {
          log.error('delivery error; the message will be retried', {
            channel,
            messageId,
            error: String(error),
          });
        }
        options.onResult?.({ messageId, error: error instanceof Error ? error : new Error(String(error)) });
        throw error;
      }
    };

    // A processor per invocation: it keeps per-batch state, and the local runtime may run invocations
    // of several handlers at once in one process.
    const processor = new BatchProcessor(EventType.SQS);
    const response = await processPartialResponse(event, handleRecord, processor, {
      context,
      // A batch whose every record failed is still answered per record, not by throwing: same effect on
      // the queue, and the visibility each record got is kept.
      throwOnFullBatchFailure: false,
    });
    if (crash.error !== undefined) throw crash.error;
    publishMetrics(channel, tally);
    return response as SQSBatchResponse;
  };
}
