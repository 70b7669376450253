// What the sweep will publish for a session must fit every AWS hop it crosses, checked when the session is
// written (registration, update, product events), so an oversize session is a 413 at the door and never a
// failed publish inside a sweep or a sender. The hops and their limits (bytes):
// - SQS, each channel queue: the sweep sends each attempt's messages with SendMessageBatch, up to 10 messages
//   of 10 sessions per call, and a batch's bodies together may be at most 262,144 bytes (256 KiB, the
//   queues' default MaximumMessageSize; SQS quotas). So each session's message gets a tenth: 26,214.
// - EventBridge PutEvents: an entry is at most 256 KB (EventBridge user guide, "Calculating PutEvents event
//   entry size"). Session messages never go on the bus; product events arrive over it, each under that limit
//   by EventBridge's own check, and over HTTP under the 64 KiB body limit.
// - Lambda asynchronous invoke: 1 MB (Lambda API reference, Invoke: "For asynchronous invocations, the
//   maximum payload size is 1 MB"). Run now and the sweep's fan-out pass job parameters, never a session.

import { MessageTooLargeError } from '../domain/errors.ts';
import { DEFAULT_POLICY, type RetryPolicy } from '../domain/retry-policy.ts';
import type { Session } from '../domain/session.ts';
import { CHANNELS } from '../infra/resources.ts';
import { attemptIdFor } from '../repositories/attempts.ts';
import { buildMessages } from './claim-attempt.ts';

export const SQS_BATCH_MAX_BYTES = 262_144;
export const SQS_BATCH_MAX_ENTRIES = 10;
/** One session's share of a SendMessageBatch: 26,214 bytes. */
export const MAX_SESSION_MESSAGE_BYTES = Math.floor(SQS_BATCH_MAX_BYTES / SQS_BATCH_MAX_ENTRIES);

/** The longest IANA zone name a policy's quiet hours may carry into a message. */
const LONG_ZONE = 'America/Argentina/ComodRivadavia';

/**
 * The largest message the sweep could publish for this session: every channel enabled, quiet hours on, the
 * largest attempt numbers and fence, the longer template id.
 */
export function largestMessageBytes(session: Session): number {
  const policy: RetryPolicy = {
    ...DEFAULT_POLICY,
    enabledChannels: [...CHANNELS],
    quietHours: { start: '22:00', end: '08:00', timezone: LONG_ZONE },
  };
  const attempt = (final: boolean) => ({
    attemptId: attemptIdFor(session.sessionId, Number.MAX_SAFE_INTEGER),
    number: Number.MAX_SAFE_INTEGER,
    fence: Number.MAX_SAFE_INTEGER,
    at: '2026-12-31T23:59:59.999Z',
    final,
  });
  const worst = { ...session, maxRetries: Number.MAX_SAFE_INTEGER };
  return Math.max(
    ...[true, false].flatMap((final) =>
      buildMessages(worst, policy, attempt(final)).map((m) => Buffer.byteLength(JSON.stringify(m))),
    ),
  );
}

/** Refuses (413) a session whose largest message would not fit its share of an SQS batch. */
export function assertMessagesFit(session: Session): void {
  const bytes = largestMessageBytes(session);
  if (bytes <= MAX_SESSION_MESSAGE_BYTES) return;
  throw new MessageTooLargeError(
    `the session's notification would be ${bytes} bytes; SQS takes at most ${SQS_BATCH_MAX_BYTES} bytes per SendMessageBatch of ${SQS_BATCH_MAX_ENTRIES} messages, so ${MAX_SESSION_MESSAGE_BYTES} per session: shorten the recovery URL, contact name or addresses; nothing was written`,
  );
}
