// Lambda's recursive-loop detection, as the local queue pollers meet it. In AWS a function that sends to
// the queue it consumes builds a chain (the copies carry its lineage); with the function's default
// `RecursiveLoop: Terminate`, Lambda stops the chain after about 16 invocations and the message goes to the
// queue's dead-letter queue. The emulators have no such rule, so a loop the stack leaves to be cut passed
// every local test. This wraps a poller's handler with it: the chain is the message body (the pause gate
// and the checkout timers send the same body again), the setting is the function's in the synthesized
// template.
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import type { QueueHandler } from '../../local/queue-poller.ts';
import { type CfnTemplate, props, serviceFunctions } from '../infra/synth.ts';

/** Invocations of one function in one chain Lambda lets through before it stops the chain. */
export const LAMBDA_LOOP_LIMIT = 16;

export type RecursiveLoopSetting = 'Allow' | 'Terminate';

/** The `RecursiveLoop` of function `id` (physical name `<prefix>-<id>`) in the template. */
export function recursiveLoopOf(json: CfnTemplate, id: string): RecursiveLoopSetting {
  const found = serviceFunctions(json).filter(([, resource]) => {
    const name = props<{ FunctionName?: unknown }>(resource).FunctionName;
    return typeof name === 'string' && name.endsWith(`-${id}`);
  });
  if (found.length !== 1)
    throw new Error(`expected one function ${id} in the template, found ${found.length}`);
  const [, resource] = found[0] as [string, (typeof found)[number][1]];
  const setting = props<{ RecursiveLoop?: unknown }>(resource).RecursiveLoop;
  // CloudFormation's default is Terminate.
  return setting === 'Allow' ? 'Allow' : 'Terminate';
}

export interface LoopDetector {
  readonly handler: QueueHandler;
  /** Invocations per chain so far (the invocation that started it included). */
  readonly hops: Map<string, number>;
  /** Messages the detector stopped and sent to the dead-letter queue. */
  readonly cut: string[];
}

export function loopDetector(options: {
  readonly sqs: SQSClient;
  readonly dlqUrl: string;
  readonly setting: RecursiveLoopSetting;
  readonly handler: QueueHandler;
  /** Invocations of the same function before the first send to the queue (the ingest call that set a timer). */
  readonly startedBy?: number;
}): LoopDetector {
  const hops = new Map<string, number>();
  const cut: string[] = [];
  const handler: QueueHandler = async (event, context) => {
    const passed = [];
    for (const record of event.Records) {
      const count = (hops.get(record.body) ?? options.startedBy ?? 0) + 1;
      hops.set(record.body, count);
      if (options.setting === 'Terminate' && count > LAMBDA_LOOP_LIMIT) {
        await options.sqs.send(
          new SendMessageCommand({ QueueUrl: options.dlqUrl, MessageBody: record.body }),
        );
        cut.push(record.body);
      } else passed.push(record);
    }
    if (passed.length === 0) return { batchItemFailures: [] } satisfies SQSBatchResponse;
    return options.handler({ Records: passed }, context);
  };
  return { handler, hops, cut };
}
