// Runs a handler against an SQS queue the way Lambda's event source mapping does: long-poll up to
// `batchSize` messages, hand them over as an SQSEvent (real receipt handles, ApproximateReceiveCount),
// delete only the records not reported in batchItemFailures, and leave the failures to reappear after
// their visibility timeout (and to reach the DLQ through the queue's redrive policy). A handler that
// throws fails the whole batch, as in Lambda.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type QueueHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse | undefined>;

export interface BatchReport {
  readonly received: number;
  /** Records the handler reported failed (or all, when it threw). */
  readonly failed: number;
  readonly deleted: number;
  readonly durationMs: number;
  readonly error?: Error;
}

export interface QueuePollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly handler: QueueHandler;
  /** 1..10, as the mapping's BatchSize for a standard queue without a batching window. */
  readonly batchSize?: number;
  /** Long-poll wait, 0..20 s. */
  readonly waitSeconds?: number;
  readonly onBatch?: (report: BatchReport) => void;
  /** Receive/delete errors (the poller backs off and keeps going). */
  readonly onError?: (error: Error) => void;
  /** Region written into each record (cosmetic). */
  readonly region?: string;
}

export interface QueuePoller {
  /**
   * Stops after the batch in hand is finished. By default the open long poll is waited for (up to
   * `waitSeconds`) and whatever it brings is made visible again at once, so no message is held back.
   * `abandonPoll` returns at once instead; a message the emulator hands to the abandoned poll then stays
   * invisible until its visibility timeout, as when a Lambda poller dies.
   */
  stop(options?: { readonly abandonPoll?: boolean }): Promise<void>;
}

/** An SQS message as the Lambda event source mapping hands it to the function. */
export function toRecord(message: Message, arn: string, region: string): SQSRecord {
  const attrs = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attrs.ApproximateReceiveCount ?? '1',
      SentTimestamp: attrs.SentTimestamp ?? String(Date.now()),
      SenderId: attrs.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: attrs.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: region,
  };
}

function lambdaContext(queueUrl: string): Context {
  const deadline = Date.now() + 60_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `local-poller:${queueUrl.split('/').pop() ?? 'queue'}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:local',
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

export function startQueuePoller(options: QueuePollerOptions): QueuePoller {
  const batchSize = Math.min(10, Math.max(1, options.batchSize ?? 10));
  const waitSeconds = Math.min(20, Math.max(0, options.waitSeconds ?? 20));
  const region = options.region ?? 'us-east-1';
  let stopped = false;
  const abort = new AbortController();
  let arn: string | undefined;

  async function queueArn(): Promise<string> {
    if (arn) return arn;
    const out = await options.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ['QueueArn'] }),
    );
    arn =
      out.Attributes?.QueueArn ?? `arn:aws:sqs:${region}:000000000000:${options.queueUrl.split('/').pop()}`;
    return arn;
  }

  async function runBatch(messages: Message[]): Promise<void> {
    const started = performance.now();
    const source = await queueArn();
    const records = messages.map((m) => toRecord(m, source, region));
    let failedIds: Set<string>;
    let error: Error | undefined;
    try {
      const response = await options.handler({ Records: records }, lambdaContext(options.queueUrl));
      failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
      failedIds = new Set(records.map((r) => r.messageId));
    }
    const done = records.filter((r) => !failedIds.has(r.messageId));
    let deleted = 0;
    if (done.length > 0) {
      const out = await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
      deleted = out.Successful?.length ?? 0;
      if (out.Failed?.length)
        options.onError?.(new Error(`could not delete ${out.Failed.length} processed messages`));
    }
    options.onBatch?.({
      received: records.length,
      failed: failedIds.size,
      deleted,
      durationMs: performance.now() - started,
      error,
    });
  }

  /** Received after stop was asked for: back to the queue untouched, receive count aside. */
  async function giveBack(messages: Message[]): Promise<void> {
    await options.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          ReceiptHandle: m.ReceiptHandle ?? '',
          VisibilityTimeout: 0,
        })),
      }),
    );
  }

  const loop = (async () => {
    let backoffMs = 0;
    while (!stopped) {
      try {
        if (backoffMs > 0) await new Promise((r) => setTimeout(r, backoffMs));
        const out = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: waitSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        backoffMs = 0;
        if (!out.Messages?.length) continue;
        if (stopped) await giveBack(out.Messages);
        else await runBatch(out.Messages);
      } catch (error) {
        if (stopped) break;
        options.onError?.(error instanceof Error ? error : new Error(String(error)));
        backoffMs = Math.min(5000, Math.max(200, backoffMs * 2));
      }
    }
  })();

  return {
    stop: async (stopOptions = {}) => {
      stopped = true;
      if (stopOptions.abandonPoll) abort.abort();
      await loop;
    },
  };
}
