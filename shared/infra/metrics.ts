// Names of the EMF metrics the functions emit and the CloudWatch alarms watch. Emitters and alarms import
// them from here, so a renamed metric breaks the build instead of silently leaving an alarm on no data.
//
// CloudWatch matches a metric by its exact dimension set. Every metric below is emitted with exactly the
// dimensions listed for its group (Powertools adds `service` from POWERTOOLS_SERVICE_NAME); a function
// that adds a default dimension would move its metrics away from the alarms.

/** Default EMF namespace prefix; the stack appends the stage (see stageNamespace). */
export const DEFAULT_METRICS_NAMESPACE = 'SessionRecovery';

/**
 * The namespace a stage's functions emit into and its alarms and dashboard watch: `<prefix>/<stage>`. The
 * stage is in the namespace, not a dimension: every emitter (and any future one) lands in its stage's
 * namespace through POWERTOOLS_METRICS_NAMESPACE alone, so no forgotten dimension can merge two stages'
 * metrics, and the dimension sets the alarms match stay as they are.
 */
export function stageNamespace(prefix: string, stage: string): string {
  return `${prefix}/${stage}`;
}

/** Value of the `service` dimension: every function runs with POWERTOOLS_SERVICE_NAME set to this. */
export const SERVICE_NAME = 'session-recovery';

export const DIMENSIONS = {
  service: 'service',
  /** A scheduled job's name (`recovery-sweep`, `timeout-monitor`). */
  job: 'job',
  /** A channel (`email`, `slack`, ...). */
  channel: 'channel',
  /** Why a notification was skipped (`channel_disabled`, `no_recipient`, `recovered`, ...). */
  reason: 'reason',
} as const;

/**
 * Emitted by every run of a scheduled job, dimensions {service, job}.
 * `Heartbeat` is 1 per scheduled invocation, also when the job is paused or finds its lease held: the alarm on
 * it proves the schedule fires and the function starts, not that work was done. A run on demand (API, CLI) or
 * a fan-out worker emits none, so it cannot hide a schedule that stopped.
 */
export const JOB_METRICS = {
  heartbeat: 'Heartbeat',
  /** The job state's counter after this run (0 after a success): a gauge, alarmed on Maximum. */
  consecutiveFailures: 'ConsecutiveFailures',
  /** Sessions the run considered for a claim (or a time-out); not those skipped after it stopped claiming. */
  selected: 'Selected',
  claimed: 'Claimed',
  dispatched: 'Dispatched',
  skipped: 'Skipped',
  errors: 'Errors',
  durationMs: 'DurationMs',
} as const;

/** Emitted by the recovery sweep only, dimensions {service, job=recovery-sweep}. */
export const SWEEP_METRICS = {
  /**
   * Age of the oldest attempt or alert still in the outbox (a gauge): past the dispatch lease plus a sweep,
   * something keeps it from its queue (a missing queue, a lost `sqs:SendMessage` grant).
   */
  outboxOldestAgeSeconds: 'OutboxOldestAgeSeconds',
  /** Due sessions whose next attempt waits for the previous attempt's outcomes. */
  deferred: 'Deferred',
} as const;

/** Emitted by the timeout monitor only, dimensions {service, job=timeout-monitor}. */
export const MONITOR_METRICS = {
  /**
   * Processing sessions this run found past their deadline and still processing: timed out, or left on an
   * error. One completed under the monitor (a conflict) is not counted.
   */
  stuckSessions: 'StuckSessions',
  timedOut: 'TimedOut',
} as const;

/** Emitted by the senders, dimensions {service, channel}. */
export const SENDER_METRICS = {
  sent: 'Sent',
  /**
   * Final failures, one per notification: a permanent provider error, a provider that never answered, or a
   * transient error on the last receive (the message then goes to the DLQ). A transient error that will be
   * retried is not one: the error-rate alarm would otherwise count one slow notification five times.
   */
  failed: 'Failed',
  /** Deliberately not sent: channel disabled, no recipient, stale or finished session, duplicate. */
  skipped: 'SkippedNotifications',
  sendDurationMs: 'SendDurationMs',
  /**
   * Records failed because the channel cannot send (missing or unreadable secret, refused credential, no
   * sender identity): each waits for a fix, then in the DLQ. Alarmed on any.
   */
  misconfigured: 'ChannelMisconfigured',
  /**
   * Sends whose best-effort writes after the send (the session's lastNotifiedAt, the stats counter) did not
   * land within the invocation's time: the send is recorded, /retry/stats may count it short. Dashboard only.
   */
  bookkeepingMissed: 'BookkeepingMissed',
} as const;

/** Emitted by the senders, dimensions {service, channel, reason}: skipped notifications by why. */
export const SKIP_METRICS = {
  skippedByReason: 'SkippedByReason',
} as const;

export type JobMetric = (typeof JOB_METRICS)[keyof typeof JOB_METRICS];
export type MonitorMetric = (typeof MONITOR_METRICS)[keyof typeof MONITOR_METRICS];
export type SenderMetric = (typeof SENDER_METRICS)[keyof typeof SENDER_METRICS];

/**
 * Emitted by the receipts function, dimensions {service, channel}. The three gauges (rates and pause) are
 * also emitted by every scheduled timeout-monitor run (shared/usecases/state-gauges.ts), receipts or not.
 */
export const RECEIPT_METRICS = {
  delivered: 'Delivered',
  bounced: 'Bounced',
  complained: 'Complained',
  undelivered: 'Undelivered',
  /** Percent of the channel's sends over the last 24 h that bounced or were not delivered (a gauge). */
  bounceRate: 'BounceRate',
  /** Percent of the channel's sends over the last 24 h that were complained about (a gauge). */
  complaintRate: 'ComplaintRate',
  /** 1 while the reputation guard holds the channel paused (a gauge: after each bounce or complaint, and each monitor run). */
  sendingPaused: 'SendingPaused',
} as const;
/**
 * Emitted by every scheduled timeout-monitor run, dimensions {service, channel} (#20): dead letters the
 * channel's DLQ holds (waiting plus in flight: one an operator is looking at is still one). A gauge, because
 * SQS stops publishing its own metrics for a queue idle more than 6 h, and a full but idle DLQ then went OK.
 */
export const QUEUE_METRICS = {
  deadLetterDepth: 'DeadLetterDepth',
} as const;

export type ReceiptMetric = (typeof RECEIPT_METRICS)[keyof typeof RECEIPT_METRICS];
