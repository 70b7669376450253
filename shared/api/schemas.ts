// The admin API's request and response schemas. They validate every request (so they are stricter than
// the stored-item schemas: nothing that could make DynamoDB or the SDK fail may pass) and they are the
// source of the OpenAPI document. Only zod and the pure domain modules are imported here, so the CDK app
// can load the route table without the AWS SDK.
import * as z from 'zod';
import { CreatePolicySchema, RetryPolicySchema } from '../domain/retry-policy.ts';
import { ContactSchema, SESSION_ID, SESSION_STATUSES, SessionSchema } from '../domain/session.ts';
import { RegisterSessionSchema, UpdateSessionSchema } from '../domain/session-input.ts';
import { CHANNELS, JOBS } from '../infra/resources.ts';

export const MAX_BODY_BYTES = 64 * 1024;
export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 100;

const iso = z.iso.datetime({ offset: true });

const Reason = z.string().min(1).max(500);

// ---------------------------------------------------------------------------------------------------------
// Query strings (API Gateway hands them over as strings).

/** A positive decimal integer in a query string; a strict pattern so `1e2`, ` 5` or `0x10` are refused. */
function queryInt(min: number, max: number) {
  return z
    .string()
    .regex(/^\d{1,9}$/, `an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

export const LimitQuery = queryInt(1, MAX_LIMIT)
  .optional()
  .meta({
    description: `Page size, 1..${MAX_LIMIT}, default ${DEFAULT_LIMIT}.`,
  });
export const CursorQuery = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^[A-Za-z0-9_-]+$/, 'an opaque cursor from a previous page')
  .optional()
  .meta({ description: 'Opaque cursor: `nextCursor` of the previous page.' });

const OrgId = z.string().min(1).max(128);

export const NoQuery = z.object({}).strict();
export const PageQuery = z.object({ limit: LimitQuery, cursor: CursorQuery }).strict();

export const ListSessionsQuery = z
  .object({
    status: z.enum(SESSION_STATUSES).optional(),
    kind: z.string().min(1).max(64).optional(),
    limit: LimitQuery,
    cursor: CursorQuery,
  })
  .strict();

export const OrgQuery = z.object({ orgId: OrgId.optional() }).strict();
export const ListPoliciesQuery = z
  .object({ orgId: OrgId.optional(), limit: LimitQuery, cursor: CursorQuery })
  .strict();

export const PreviewQuery = z
  .object({
    sessionId: SESSION_ID.optional().meta({
      description: "Plan for this session: its attempts so far, its next retry, its recipient's time zone.",
    }),
    from: iso.optional().meta({ description: 'Start of the plan (the previous attempt); default now.' }),
  })
  .strict();

export const StatsQuery = z
  .object({
    from: iso.optional().meta({ description: 'First day counted (UTC); default 6 days before `to`.' }),
    to: iso.optional().meta({ description: 'Last day counted (UTC); default today.' }),
    orgId: OrgId.optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.from && q.to && new Date(q.from).getTime() > new Date(q.to).getTime()) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must not be after to' });
    }
    if (q.from && q.to && new Date(q.to).getTime() - new Date(q.from).getTime() > 366 * 86_400_000) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'at most 366 days at once' });
    }
  });

export const ListRunsQuery = z
  .object({ job: z.enum(JOBS).optional(), limit: LimitQuery, cursor: CursorQuery })
  .strict();

// ---------------------------------------------------------------------------------------------------------
// Path parameters. A value that cannot name a resource is answered 404, like an unknown one.

export const SessionIdParams = z.object({ id: SESSION_ID }).strict();
export const PolicyIdParams = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'a policy id'),
  })
  .strict();
export const AttemptIdParams = z
  .object({
    attemptId: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'an attempt id'),
  })
  .strict();
export const JobParams = z.object({ job: z.enum(JOBS) }).strict();
export const ChannelParams = z.object({ channel: z.enum(CHANNELS) }).strict();

// ---------------------------------------------------------------------------------------------------------
// Bodies.

/** The product registers a session / reports progress: the domain's input schemas, one definition. */
export const RegisterSessionBody = RegisterSessionSchema;
export const UpdateSessionBody = UpdateSessionSchema;

export const RegenerateBody = z
  .object({
    overrideNextRetryAt: iso.optional().meta({ description: 'When the next retry happens; default now.' }),
    automated: z.boolean().optional().meta({ description: '`false` also pauses automation.' }),
    reason: Reason.optional(),
  })
  .strict();

export const ReasonBody = z.object({ reason: Reason.optional() }).strict();

export const ResetStuckBody = z
  .object({
    olderThanMinutes: z
      .number()
      .int()
      .min(1)
      .max(366 * 1440),
    dryRun: z.boolean().default(true),
  })
  .strict();

export const CreatePolicyBody = CreatePolicySchema;

export const RunJobBody = z
  .object({
    dryRun: z.boolean().default(false).meta({ description: 'Select exactly as a real run, change nothing.' }),
    limit: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();

export const MAX_REPLAY = 1000;

export const ReplayBody = z
  .object({
    dryRun: z.boolean().default(true),
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_REPLAY)
      .default(100)
      .meta({
        description: `Messages to move at most, 1..${MAX_REPLAY}.`,
      }),
    sessionId: SESSION_ID.optional(),
    attemptId: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'an attempt id')
      .optional(),
    errorContains: z.string().min(1).max(200).optional().meta({
      description: "Case-insensitive text in the failed delivery's recorded error.",
    }),
  })
  .strict();

// ---------------------------------------------------------------------------------------------------------
// Responses.

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })),
  })
  .meta({ description: 'RFC 9457 problem details.' });

const nullableIso = z.string().nullable();

export const RecoveryStateSchema = z.object({
  status: z.enum(SESSION_STATUSES),
  retryCount: z.number().int(),
  maxRetries: z.number().int().nullable(),
  nextRetryAt: nullableIso,
  lastAttemptAt: nullableIso,
  lastNotifiedAt: nullableIso,
  paused: z.boolean(),
  overrideNextRetryAt: nullableIso,
  triggeredBy: z.string().nullable(),
  triggeredAt: nullableIso,
});

export const SessionView = SessionSchema.omit({ dueShard: true, deadlineShard: true }).extend({
  recoveryState: RecoveryStateSchema,
});

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const SessionPage = pageOf(SessionView);

export const RegisterResponse = SessionView;

export const TimelineEventView = z
  .object({ at: z.string(), type: z.string(), sessionId: z.string() })
  .catchall(z.unknown())
  .meta({
    description:
      'One event. `attempt` events carry attemptId, number (1-based), channels and state; `notification` events carry the outcome of one channel.',
  });
export const TimelinePage = pageOf(TimelineEventView);

export const RetryNowResponse = z.object({
  attemptId: z.string(),
  number: z.number().int(),
  channels: z.array(z.enum(CHANNELS)),
  dispatched: z
    .boolean()
    .meta({ description: 'false: the attempt is recorded and the next sweep publishes it.' }),
});

export const ResetStuckResponse = z.object({
  dryRun: z.boolean(),
  matched: z.array(z.object({ sessionId: z.string(), minutesStuck: z.number().int() })),
  changed: z.number().int(),
});

export const PolicyView = RetryPolicySchema;
export const PolicyPage = pageOf(PolicyView);

export const PreviewResponse = z.object({
  policyId: z.string(),
  sessionId: z.string().nullable(),
  basis: z.enum(['session', 'from']).meta({
    description:
      '`session`: continues the session from its next retry, as the sweep will; `from`: a plan started at `from`.',
  }),
  schedule: z.array(
    z.object({
      attempt: z.number().int(),
      at: z.string(),
      delaySeconds: z.number().int(),
      channels: z.array(z.enum(CHANNELS)),
    }),
  ),
});

const ChannelCounts = z.object({ sent: z.number(), failed: z.number(), skipped: z.number() });

export const StatsResponse = z.object({
  orgId: z.string(),
  from: z.string(),
  to: z.string(),
  sessions: z.number(),
  attempts: z.number(),
  recovered: z.number(),
  exhausted: z.number(),
  successRate: z
    .number()
    .nullable()
    .meta({ description: 'recovered / (recovered + exhausted); null when neither happened.' }),
  averageRetries: z
    .number()
    .nullable()
    .meta({ description: 'Mean attempts made before a session was recovered; null when none was.' }),
  byChannel: z.object(
    Object.fromEntries(CHANNELS.map((c) => [c, ChannelCounts])) as Record<
      (typeof CHANNELS)[number],
      typeof ChannelCounts
    >,
  ),
});

export const OUTCOME_STATUSES = ['sending', 'sent', 'failed', 'skipped'] as const;

export const OutcomeView = z.object({
  attemptId: z.string(),
  sessionId: z.string(),
  channel: z.string(),
  status: z.string().meta({ description: 'sending | sent | failed | skipped' }),
  provider: z.string().nullable(),
  providerMessageId: z.string().nullable(),
  error: z.string().nullable(),
  reason: z.string().nullable(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
});
export const OutcomePage = pageOf(OutcomeView);

export const JobStateView = z.object({
  name: z.enum(JOBS),
  paused: z.boolean(),
  pausedBy: z.string().nullable(),
  pausedAt: z.string().nullable(),
  pauseReason: z.string().nullable(),
  lastHeartbeatAt: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  consecutiveFailures: z.number().int(),
  lastError: z.string().nullable(),
  heartbeatTtlSeconds: z.number().int(),
  heartbeatAgeSeconds: z.number().int().nullable(),
});
export const JobsStatusResponse = z.object({ jobs: z.array(JobStateView) });

const RunCountsView = z.record(z.string(), z.number());
export const RunRecordView = z
  .object({
    runId: z.string(),
    job: z.enum(JOBS),
    trigger: z.string(),
    dryRun: z.boolean(),
    limit: z.number().int(),
    status: z.enum(['succeeded', 'failed', 'skipped']),
    reason: z.string().optional(),
    error: z.string().optional(),
    startedAt: z.string(),
    finishedAt: z.string(),
    durationMs: z.number(),
    counts: RunCountsView,
    channels: z.array(z.string()),
    wouldProcess: z.array(z.string()).optional(),
    problems: z.array(z.object({ sessionId: z.string().optional(), reason: z.string() })),
  })
  .catchall(z.unknown());
export const RunPage = pageOf(RunRecordView);

export const DlqResponse = z.object({
  channels: z.array(
    z.object({
      channel: z.enum(CHANNELS),
      queue: z.string().nullable(),
      dlq: z.string().nullable(),
      depth: z.number().int().nullable().meta({ description: 'Messages waiting in the DLQ.' }),
      inFlight: z.number().int().nullable(),
    }),
  ),
});

export const ReplayResponse = z.object({
  dryRun: z.boolean(),
  matched: z.number().int(),
  replayed: z.number().int(),
  scanned: z.number().int().meta({ description: 'DLQ messages looked at.' }),
  messages: z
    .array(
      z.object({ messageId: z.string(), sessionId: z.string().nullable(), attemptId: z.string().nullable() }),
    )
    .meta({ description: 'The matched messages (at most 100 listed).' }),
});

const ComponentStatus = z.enum(['ok', 'degraded', 'error']);
const Component = z.object({ status: ComponentStatus }).catchall(z.unknown());
export const ReadyResponse = z.object({
  status: ComponentStatus,
  components: z.object({ database: Component, queues: Component, jobs: Component }),
});

export const SessionsHealthResponse = z.object({
  status: z.enum(['healthy', 'warning', 'critical']),
  timestamp: z.string(),
  metrics: z.object({
    totalSessions: z.number().int(),
    processingSessions: z.number().int(),
    longRunningSessions: z.number().int(),
    stuckSessions: z.number().int(),
  }),
  thresholds: z.object({
    warningMinutes: z.number(),
    timeoutMinutes: z.number(),
    maxLongRunning: z.number().int(),
  }),
});

export const StuckSessionsResponse = z.object({
  stuckSessions: z.array(
    z.object({
      id: z.string(),
      createdAt: z.string(),
      processingMinutes: z.number().int(),
      sizeBytes: z.number().int().nullable(),
      deadlineAt: z.string().nullable(),
    }),
  ),
  count: z.number().int(),
});

export const OpenApiResponse = z
  .object({
    openapi: z.string(),
    info: z.record(z.string(), z.unknown()),
    paths: z.record(z.string(), z.unknown()),
  })
  .catchall(z.unknown());

/** Schemas that get a name of their own in the OpenAPI document's components. */
export const NAMED_SCHEMAS: ReadonlyArray<readonly [string, z.ZodType]> = [
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
