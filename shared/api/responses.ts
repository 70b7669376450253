// The admin API's response schemas: what each route answers, for the OpenAPI document and for the tests
// that check every answer against it. The API Lambda never loads this module: it serves the document
// generated at build time (docs/openapi.json).
import * as v from 'valibot';
import { RetryPolicySchema } from '../domain/retry-policy.ts';
import { ContactSchema, SESSION_STATUSES, SessionSchema } from '../domain/session.ts';
import { CHANNELS, JOBS } from '../infra/resources.ts';
import { described, integer } from '../schema.ts';

const int = integer();
const nullableString = v.nullable(v.string());
const nullableInt = v.nullable(int);

export const ProblemSchema = described(
  v.object({
    type: v.string(),
    title: v.string(),
    status: int,
    detail: v.string(),
    instance: v.optional(v.string()),
    errors: v.array(v.object({ path: v.string(), message: v.string() })),
  }),
  'RFC 9457 problem details.',
);

const RecoveryStateSchema = v.object({
  status: v.picklist(SESSION_STATUSES),
  retryCount: int,
  maxRetries: nullableInt,
  nextRetryAt: nullableString,
  lastAttemptAt: nullableString,
  lastNotifiedAt: nullableString,
  paused: v.boolean(),
  overrideNextRetryAt: nullableString,
  triggeredBy: nullableString,
  triggeredAt: nullableString,
});

const SessionView = v.looseObject({
  ...v.omit(SessionSchema, ['dueShard', 'deadlineShard']).entries,
  recoveryState: RecoveryStateSchema,
});

function pageOf<T extends v.GenericSchema>(item: T) {
  return v.object({ items: v.array(item), nextCursor: nullableString });
}

const TimelineEventView = described(
  v.looseObject({ at: v.string(), type: v.string(), sessionId: v.string() }),
  'One event. `attempt` events carry attemptId, number (1-based), channels and state; `notification` events carry the outcome of one channel; `receipt` events (after their notification) carry what the provider reported: status, providerStatus, errorCode.',
);

const RetryNowResponse = v.object({
  attemptId: v.string(),
  number: int,
  channels: v.array(v.picklist(CHANNELS)),
  dispatched: described(v.boolean(), 'false: the attempt is recorded and the next sweep publishes it.'),
  deferredUntil: v.optional(
    described(
      v.string(),
      "Made inside the policy's quiet hours: when its message goes out (the window's end, spread by up to 5 minutes); the next attempt's delay runs from then. Absent when it goes at once.",
    ),
  ),
});

const ResetStuckResponse = v.object({
  dryRun: v.boolean(),
  matched: described(
    v.array(v.object({ sessionId: v.string(), minutesStuck: int })),
    'The matches of this call (at most `limit`).',
  ),
  changed: described(int, 'Sessions this call timed out.'),
  changedSessionIds: described(v.array(v.string()), 'The sessions this call timed out.'),
  notChanged: described(
    v.array(v.object({ sessionId: v.string(), reason: v.picklist(['throttled', 'changed_meanwhile']) })),
    'Matches a real reset did not time out. `throttled`: DynamoDB refused for capacity part-way; not in `matched`, and `nextCursor` tries them again (after `retryAfterSeconds`). `changed_meanwhile`: written since it was read (finished, timed out, reported on); a new reset finds it if it is still processing past the cutoff.',
  ),
  retryAfterSeconds: described(
    nullableInt,
    'Set when DynamoDB throttled part-way (some sessions changed, some not): wait this long before continuing with `nextCursor`. Throttled before anything changed, the call answers 503 with Retry-After instead.',
  ),
  more: described(
    v.boolean(),
    'Processing sessions remain that no call has looked at yet: continue with `nextCursor`.',
  ),
  nextCursor: described(
    nullableString,
    'Give it as `cursor`, with the same filters, to continue; null when done.',
  ),
  total: described(v.object({ matched: int, changed: int }), 'This call and the calls it continues.'),
  matchedIsLowerBound: described(
    v.boolean(),
    '`total.matched` counts only the sessions looked at so far: true while `more` is true.',
  ),
});

const PolicyView = RetryPolicySchema;

const PreviewResponse = v.object({
  policyId: v.string(),
  sessionId: nullableString,
  basis: described(
    v.picklist(['session', 'from']),
    '`session`: continues the session from its next retry, as the sweep will; `from`: a plan started at `from`.',
  ),
  schedule: v.array(
    v.object({
      attempt: int,
      at: v.string(),
      delaySeconds: int,
      channels: v.array(v.picklist(CHANNELS)),
    }),
  ),
});

const ChannelCounts = v.object({ sent: v.number(), failed: v.number(), skipped: v.number() });
const ByCurrency = described(
  v.record(v.string(), v.number()),
  'Per ISO 4217 currency, in minor units (cents): { "USD": 4900 }.',
);
const RecoveredCounts = v.object({
  recovered: described(v.number(), 'Recoveries credited to it (#14 attribution).'),
  recoveredAmount: ByCurrency,
});
const StatsChannelCounts = v.object({ ...ChannelCounts.entries, ...RecoveredCounts.entries });
const ChannelSeries = v.object(
  Object.fromEntries(CHANNELS.map((c) => [c, ChannelCounts])) as Record<
    (typeof CHANNELS)[number],
    typeof ChannelCounts
  >,
);

const StatsResponse = v.object({
  orgId: v.string(),
  from: v.string(),
  to: v.string(),
  sessions: v.number(),
  attempts: v.number(),
  recovered: v.number(),
  exhausted: v.number(),
  successRate: described(
    v.nullable(v.number()),
    'recovered / (recovered + exhausted); null when neither happened.',
  ),
  averageRetries: described(
    v.nullable(v.number()),
    'Mean attempts made before a session was recovered; null when none was.',
  ),
  byChannel: described(
    v.object(
      Object.fromEntries(CHANNELS.map((c) => [c, StatsChannelCounts])) as Record<
        (typeof CHANNELS)[number],
        typeof StatsChannelCounts
      >,
    ),
    'Per channel: notifications sent, failed, skipped, and the recoveries (with amounts) a sent or delivered notification of it preceded within the attribution window.',
  ),
  recoveredAmount: ByCurrency,
  byAttempt: described(
    v.record(v.string(), RecoveredCounts),
    'Recoveries by the attempt number credited with them; "0" is a recovery no reminder preceded.',
  ),
  events: described(
    v.object({
      applied: v.number(),
      duplicate: v.number(),
      stale: v.number(),
      ignored: v.number(),
      rejected: v.number(),
    }),
    'Product events (#14): applied, repeated deliveries, older than the session, not applicable, malformed.',
  ),
});

const StatsSeriesResponse = v.object({
  orgId: v.string(),
  granularity: v.picklist(['hour', 'day']),
  from: v.string(),
  to: v.string(),
  buckets: v.array(
    v.object({
      start: described(v.string(), 'Start of the hour or UTC day.'),
      sessions: v.number(),
      attempts: v.number(),
      recovered: v.number(),
      exhausted: v.number(),
      byChannel: ChannelSeries,
    }),
  ),
});

const OutcomeView = v.object({
  attemptId: v.string(),
  sessionId: v.string(),
  channel: v.string(),
  status: described(
    v.string(),
    'sending | sent | failed | skipped | delivered | read | bounced | complained | undelivered (forward only)',
  ),
  provider: nullableString,
  providerMessageId: nullableString,
  error: nullableString,
  reason: nullableString,
  createdAt: nullableString,
  updatedAt: nullableString,
});

const JobStateView = v.object({
  name: v.picklist(JOBS),
  paused: v.boolean(),
  pausedBy: nullableString,
  pausedAt: nullableString,
  pauseReason: nullableString,
  lastHeartbeatAt: nullableString,
  lastSuccessAt: nullableString,
  consecutiveFailures: int,
  lastError: nullableString,
  heartbeatTtlSeconds: int,
  heartbeatAgeSeconds: nullableInt,
});

const RunRecordView = v.looseObject({
  runId: v.string(),
  job: v.picklist(JOBS),
  trigger: v.string(),
  dryRun: v.boolean(),
  limit: int,
  status: v.picklist(['succeeded', 'failed', 'skipped']),
  reason: v.optional(v.string()),
  error: v.optional(v.string()),
  startedAt: v.string(),
  finishedAt: v.string(),
  durationMs: v.number(),
  counts: v.record(v.string(), v.number()),
  channels: v.array(v.string()),
  wouldProcess: v.optional(v.array(v.string())),
  problems: v.array(v.object({ sessionId: v.optional(v.string()), reason: v.string() })),
  moreRemain: described(
    v.optional(v.boolean()),
    'The run stopped at its limit with more sessions left for the next run.',
  ),
});

const RunStartedResponse = v.object({
  runId: described(v.string(), 'The run record carries this id once the run has ended.'),
  job: v.picklist(JOBS),
  dryRun: v.boolean(),
  limit: nullableInt,
  status: v.literal('started'),
  runs: described(
    v.string(),
    'Where the run record appears (`GET /v1/admin/runs?job=…`) when the run has ended.',
  ),
});

const DlqResponse = v.object({
  channels: v.array(
    v.object({
      channel: v.picklist(CHANNELS),
      queue: nullableString,
      dlq: nullableString,
      depth: described(nullableInt, 'Messages waiting in the DLQ.'),
      inFlight: nullableInt,
      health: described(
        v.object({
          status: v.picklist(['ok', 'misconfigured', 'unknown']),
          reason: nullableString,
          since: nullableString,
        }),
        "Whether the channel's sender can send, as its last deliveries found it; a misconfigured channel's messages wait here until the configuration is fixed and they are replayed.",
      ),
    }),
  ),
});

const ReplayResponse = v.object({
  dryRun: v.boolean(),
  matched: described(int, 'Matching messages this call looked at.'),
  replayed: described(int, 'Messages sent to the channel queue and deleted from the DLQ.'),
  notDeleted: described(
    int,
    'Messages sent to the channel queue whose delete from the DLQ failed: not counted in `replayed`. Each is in both queues; it stays hidden in the DLQ for about two minutes, then a later replay sends it again (the senders are idempotent per attempt and channel, so the person gets it once). Nothing to undo: check `GET /v1/admin/dlq` after a few minutes and replay again.',
  ),
  notDeletedMessages: described(
    v.array(
      v.object({
        messageId: v.string(),
        sessionId: nullableString,
        attemptId: nullableString,
        error: described(v.string(), 'What SQS answered for the delete, or why the delete call failed.'),
      }),
    ),
    'Those messages (at most 100 listed).',
  ),
  scanned: described(int, 'DLQ messages looked at.'),
  stoppedBy: described(
    v.picklist(['drained', 'limit', 'scan-cap', 'time-budget']),
    '`drained`: no visible message was left, every one was looked at; otherwise the bound the call reached.',
  ),
  more: described(v.boolean(), 'Messages may be left that this call did not look at.'),
  matchedIsLowerBound: described(
    v.boolean(),
    '`matched` counts only the messages looked at: the DLQ may hold more matches (true when `more`).',
  ),
  remaining: described(
    nullableInt,
    'Messages in the DLQ after the call (SQS approximate counts, visible and in flight).',
  ),
  nextCursor: described(
    nullableString,
    'Continue a real replay that moved messages: give it as `cursor` with the same filters. Null when done, for a dry run (it moves nothing, so another call would look at the same messages) and when a call moved nothing.',
  ),
  total: described(
    v.object({ matched: int, replayed: int, scanned: int, notDeleted: v.optional(int) }),
    'This call and the calls it continues.',
  ),
  needsForce: described(
    int,
    'Matching messages left in the DLQ because their provider window is used up (replay them with force).',
  ),
  messages: described(
    v.array(v.object({ messageId: v.string(), sessionId: nullableString, attemptId: nullableString })),
    'The matched messages (at most 100 listed).',
  ),
});

const ComponentStatus = v.picklist(['ok', 'degraded', 'error']);
const Component = v.looseObject({ status: ComponentStatus });
const ReadyResponse = v.object({
  status: ComponentStatus,
  components: v.object({
    database: Component,
    queues: Component,
    jobs: Component,
    dispatch: Component,
    channels: Component,
    sessions: described(
      Component,
      'Whether session health has a recent count: `degraded` before the timeout monitor has counted, or when its last count is older than two of its intervals.',
    ),
  }),
});

const SessionsHealthResponse = v.object({
  status: described(
    v.picklist(['healthy', 'warning', 'critical', 'unknown']),
    '`unknown` when the timeout monitor has not counted yet, or its last count is older than two of its intervals (`measured`).',
  ),
  timestamp: v.string(),
  metrics: v.object({
    totalSessions: int,
    processingSessions: int,
    longRunningSessions: described(nullableInt, 'The monitor’s last count; null before it has counted.'),
    stuckSessions: described(nullableInt, 'The monitor’s last count; null before it has counted.'),
  }),
  measured: v.object({
    at: nullableString,
    complete: v.boolean(),
    ageSeconds: nullableInt,
    maxAgeSeconds: int,
  }),
  thresholds: v.object({
    warningMinutes: v.number(),
    timeoutMinutes: v.number(),
    maxLongRunning: int,
  }),
});

const StuckSessionsResponse = v.object({
  stuckSessions: v.array(
    v.object({
      id: v.string(),
      createdAt: v.string(),
      processingMinutes: int,
      sizeBytes: nullableInt,
      deadlineAt: nullableString,
    }),
  ),
  count: int,
  countAt: nullableString,
});

const OpenApiResponse = v.looseObject({
  openapi: v.string(),
  info: v.record(v.string(), v.unknown()),
  paths: v.record(v.string(), v.unknown()),
});

const ChannelConsent = v.object({
  suppressed: v.boolean(),
  reason: described(nullableString, 'bounce | complaint | unsubscribe | stop | operator'),
  source: described(nullableString, 'ses, twilio, one-click, or the operator'),
  since: nullableString,
});

const RecipientResponse = v.object({
  address: described(v.string(), 'The normalised address (lower-case email, E.164 phone).'),
  channels: v.record(v.string(), ChannelConsent),
  history: described(
    v.array(v.looseObject({ action: v.string(), channel: v.string(), source: v.string(), at: v.string() })),
    'The latest changes first: every suppression and lift, with who and why.',
  ),
});

const SuppressionChangeResponse = v.object({
  address: v.string(),
  channel: v.string(),
  changed: described(v.boolean(), 'false: it already was in that state (nothing written).'),
  recipient: RecipientResponse,
});

const ReputationWindowView = v.object({
  channel: v.string(),
  from: v.string(),
  to: v.string(),
  sent: int,
  delivered: int,
  bounced: int,
  complained: int,
  undelivered: int,
  bounceRate: described(v.nullable(v.number()), 'Percent of sends, last 24 h.'),
  complaintRate: described(v.nullable(v.number()), 'Percent of sends, last 24 h.'),
});

const ReputationResponse = v.object({
  channels: v.array(
    v.object({
      ...ReputationWindowView.entries,
      paused: v.boolean(),
      pausedAt: nullableString,
      pauseReason: nullableString,
    }),
  ),
  thresholds: v.record(v.string(), v.number()),
});

const ChannelSendingResponse = v.object({
  channel: v.string(),
  paused: v.boolean(),
  resumedBy: nullableString,
  resumedAt: nullableString,
});

/** A page for a person (the unsubscribe confirmation). */
const HtmlResponse = described(v.string(), 'An HTML page (text/html).');
/** TwiML for Twilio: an empty `<Response/>` (text/xml). */
const TwimlResponse = described(v.string(), 'An empty TwiML document (text/xml).');

/** What a product event or provider webhook was received as (#14). */
export const EventReceiptResponse = v.object({
  received: v.literal(true),
  id: described(v.nullable(v.string()), 'The event id (null when the event could not name one).'),
  outcome: described(
    v.picklist(['applied', 'pending', 'duplicate', 'stale', 'ignored']),
    "applied; pending (an ending kept until its session starts); duplicate (received before: nothing changed); stale (older than the session's latest event: nothing changed); ignored (not mapped, or not applicable to the session as it is).",
  ),
  sessionId: nullableString,
  status: described(nullableString, "The session's status after the event."),
  reason: nullableString,
});

/**
 * Every response schema a route can name, by name. Routes refer to these by name (./routes.ts), so the
 * route table stays cheap to load; the OpenAPI document and the tests look the schemas up here.
 */
export const RESPONSES = {
  Session: SessionView,
  SessionPage: pageOf(SessionView),
  TimelinePage: pageOf(TimelineEventView),
  RetryNow: RetryNowResponse,
  ResetStuck: ResetStuckResponse,
  RetryPolicy: PolicyView,
  PolicyPage: pageOf(PolicyView),
  Preview: PreviewResponse,
  Stats: StatsResponse,
  StatsSeries: StatsSeriesResponse,
  OutcomePage: pageOf(OutcomeView),
  JobsStatus: v.object({ jobs: v.array(JobStateView) }),
  JobState: JobStateView,
  RunRecord: RunRecordView,
  RunStarted: RunStartedResponse,
  RunPage: pageOf(RunRecordView),
  Dlq: DlqResponse,
  Replay: ReplayResponse,
  Ready: ReadyResponse,
  SessionsHealth: SessionsHealthResponse,
  StuckSessions: StuckSessionsResponse,
  OpenApi: OpenApiResponse,
  Recipient: RecipientResponse,
  SuppressionChange: SuppressionChangeResponse,
  Reputation: ReputationResponse,
  ChannelSending: ChannelSendingResponse,
  Html: HtmlResponse,
  Twiml: TwimlResponse,
  EventReceipt: EventReceiptResponse,
} as const satisfies Record<string, v.GenericSchema>;
export type ResponseName = keyof typeof RESPONSES;

/** Schemas that get a name of their own in the OpenAPI document's components. */
export const NAMED_SCHEMAS: ReadonlyArray<readonly [string, v.GenericSchema]> = [
  ['Problem', ProblemSchema],
  ['Session', SessionView],
  ['RecoveryState', RecoveryStateSchema],
  ['Contact', ContactSchema],
  ['RetryPolicy', PolicyView],
  ['TimelineEvent', TimelineEventView],
  ['NotificationOutcome', OutcomeView],
  ['JobState', JobStateView],
  ['RunRecord', RunRecordView],
];
