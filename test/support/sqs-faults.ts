// SQS faults on the real client, against the emulator. fauxqs answers every DeleteMessageBatch entry as
// successful (it deletes what it can and, like AWS for a stale handle, reports success), so the partial
// failures AWS can answer (`Failed` entries: InternalError, a receipt handle that is no longer valid) and a
// call that fails as a whole (a dropped connection) are made here: the entries chosen to fail are taken out
// of the request before it is sent (so those messages really stay in the queue) and put back in the answer
// as `Failed`, shaped as AWS shapes them.
import type { SQSClient } from '@aws-sdk/client-sqs';

export interface DeleteFaults {
  /** Entries the injector made fail, by receipt handle. */
  readonly failed: readonly string[];
  remove(): void;
}

let serial = 0;

/**
 * Makes DeleteMessageBatch fail for the entries `fails` picks (`'call'`: the whole call rejects, nothing
 * deleted). Other commands and entries pass untouched.
 */
export function injectDeleteFaults(
  sqs: SQSClient,
  fails: (entry: { Id: string; ReceiptHandle: string }, index: number) => boolean | 'call',
): DeleteFaults {
  const name = `injectDeleteFaults#${++serial}`;
  const failed: string[] = [];
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'DeleteMessageBatchCommand') return next(args);
      const input = args.input as { Entries?: Array<{ Id: string; ReceiptHandle: string }> };
      const entries = input.Entries ?? [];
      const verdicts = entries.map((e, i) => fails(e, i));
      if (verdicts.includes('call')) {
        failed.push(...entries.map((e) => e.ReceiptHandle));
        const error = new Error('socket hang up (injected)');
        Object.assign(error, { name: 'TimeoutError', code: 'ECONNRESET', $metadata: {} });
        throw error;
      }
      const failing = entries.filter((_, i) => verdicts[i] === true);
      failed.push(...failing.map((e) => e.ReceiptHandle));
      const passing = entries.filter((_, i) => verdicts[i] !== true);
      const result = passing.length
        ? await next({ ...args, input: { ...input, Entries: passing } as typeof args.input })
        : { output: { $metadata: {}, Successful: [] }, response: {} };
      const output = result.output as { Failed?: unknown[] };
      output.Failed = [
        ...(output.Failed ?? []),
        ...failing.map((e) => ({
          Id: e.Id,
          SenderFault: false,
          Code: 'InternalError',
          Message: 'We encountered an internal error. Please try again. (injected)',
        })),
      ];
      return result;
    },
    { step: 'initialize', name, tags: ['FAULT_INJECTION'] },
  );
  return { failed, remove: () => void sqs.middlewareStack.remove(name) };
}
