// What Lambda's SQS event source mapping does for one invocation, step by step, so a test can stand
// between the steps (move a clock, kill the handler): receive real messages into an SQSEvent, invoke, then
// delete only the records the handler did not report failed — nothing at all when the invocation died.
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { toRecord } from '../../local/queue-poller.ts';

export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export function sqsRecord(message: Message, queueUrl: string): SQSRecord {
  return toRecord(
    message,
    `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split('/').pop() ?? 'queue'}`,
    'us-east-1',
  );
}

/**
 * Long-polls until at least one message is visible (or `timeoutMs` passes, which throws), receiving up to
 * `max` with the given visibility timeout: the messages then come back on their own after that many seconds
 * unless they are deleted.
 */
export async function receiveEvent(
  sqs: SQSClient,
  queueUrl: string,
  options: { readonly visibilitySeconds: number; readonly max?: number; readonly timeoutMs?: number },
): Promise<SQSEvent> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: options.max ?? 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: options.visibilitySeconds,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (out.Messages?.length) return { Records: out.Messages.map((m) => sqsRecord(m, queueUrl)) };
  }
  throw new Error(`no message became visible on ${queueUrl} within ${options.timeoutMs ?? 15_000} ms`);
}

export interface MappingResult {
  /** The handler's answer; absent when the invocation died. */
  readonly response?: SQSBatchResponse;
  /** What killed the invocation. */
  readonly error?: unknown;
  readonly deleted: number;
}

/** Invokes once and settles like the mapping: successes deleted, failures and a dead invocation left to return. */
export async function invokeLikeMapping(
  sqs: SQSClient,
  queueUrl: string,
  handler: SqsHandler,
  event: SQSEvent,
): Promise<MappingResult> {
  let response: SQSBatchResponse | undefined;
  let error: unknown;
  try {
    response = await handler(event);
  } catch (e) {
    error = e;
  }
  if (!response) return { error, deleted: 0 };
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const done = event.Records.filter((r) => !failed.has(r.messageId));
  if (done.length) {
    const out = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
      }),
    );
    if (out.Failed?.length) throw new Error(`could not delete ${out.Failed.length} processed message(s)`);
  }
  return { response, deleted: done.length };
}
