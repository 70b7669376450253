// The admin API's request schemas: query strings, path parameters and bodies. They validate every request
// (so they are stricter than the stored-item schemas: nothing that could make DynamoDB or the SDK fail may
// pass) and describe the requests in the OpenAPI document. Response schemas live in ./responses.ts: only
// the document needs them, so the API Lambda does not build them at every cold start. Only valibot and
// the pure domain modules are imported here, so the CDK app can load the route table without the SDK.
import * as v from 'valibot';
import { CreatePolicySchema } from '../domain/policy-input.ts';
import { SESSION_ID, SESSION_STATUSES } from '../domain/session.ts';
import {
  RESET_STUCK_MAX_LIMIT,
  RESET_STUCK_READ_BUDGET,
  RegisterSessionSchema,
  UpdateSessionSchema,
} from '../domain/session-input.ts';
import { CHANNELS, JOBS } from '../infra/resources.ts';
import { described, integer, inputDateTime as iso, text } from '../schema.ts';

/** The admin API's body limit. */
export const MAX_BODY_BYTES = 64 * 1024;
/**
 * The public routes' (partners' webhooks): a Shopify order of 250 line items is ~300 KB. Under API Gateway's
 * 10 MB payload and Lambda's 6 MB synchronous invoke.
 */
export const MAX_PUBLIC_BODY_BYTES = 1024 * 1024;
export const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 100;

const Reason = text(1, 500);

// ---------------------------------------------------------------------------------------------------------
// Query strings (API Gateway hands them over as strings).

/** A positive decimal integer in a query string; a strict pattern so `1e2`, ` 5` or `0x10` are refused. */
function queryInt(min: number, max: number) {
  return v.pipe(
    v.string(),
    v.regex(/^\d{1,9}$/, `an integer from ${min} to ${max}`),
    v.transform(Number),
    integer(min, max),
  );
}

const LimitQuery = described(
  v.optional(queryInt(1, MAX_LIMIT)),
  `Page size, 1..${MAX_LIMIT}, default ${DEFAULT_LIMIT}.`,
);
const CursorQuery = described(
  v.optional(v.pipe(text(1, 2048), v.regex(/^[A-Za-z0-9_-]+$/, 'an opaque cursor from a previous page'))),
  'Opaque cursor: `nextCursor` of the previous page.',
);

const OrgId = text(1, 128);

export const NoQuery = v.strictObject({});

/** POST /v1/events (#14): one of our generic session events. */
export { ProductEventBody } from '../events/generic.ts';
export const PageQuery = v.strictObject({ limit: LimitQuery, cursor: CursorQuery });

export const ListSessionsQuery = v.strictObject({
  status: v.optional(v.picklist(SESSION_STATUSES)),
  kind: v.optional(text(1, 64)),
  orgId: v.optional(OrgId),
  recipient: described(
    v.optional(text(1, 254)),
    "The customer's email, or phone (E.164, spaces and dashes allowed) when the session has no email; normalised, then looked up by its hash.",
  ),
  limit: LimitQuery,
  cursor: CursorQuery,
});

export const OrgQuery = v.strictObject({ orgId: v.optional(OrgId) });
export const ListPoliciesQuery = v.strictObject({
  orgId: v.optional(OrgId),
  limit: LimitQuery,
  cursor: CursorQuery,
});

export const PreviewQuery = v.strictObject({
  sessionId: described(
    v.optional(SESSION_ID),
    "Plan for this session: its attempts so far, its next retry, its recipient's time zone.",
  ),
  from: described(v.optional(iso), 'Start of the plan (the previous attempt); default now.'),
});

const DAY_MS = 86_400_000;

export const StatsQuery = v.pipe(
  v.strictObject({
    from: described(v.optional(iso), 'First day counted (UTC); default 6 days before `to`.'),
    to: described(v.optional(iso), 'Last day counted (UTC); default today.'),
    orgId: v.optional(OrgId),
  }),
  v.forward(
    v.check((q) => !(q.from && q.to && Date.parse(q.from) > Date.parse(q.to)), 'from must not be after to'),
    ['from'],
  ),
  v.forward(
    v.check(
      (q) => !(q.from && q.to && Date.parse(q.to) - Date.parse(q.from) > 366 * DAY_MS),
      'at most 366 days at once',
    ),
    ['to'],
  ),
);

export const StatsSeriesQuery = v.pipe(
  v.strictObject({
    granularity: described(v.optional(v.picklist(['hour', 'day'])), 'Bucket size; default hour.'),
    from: described(v.optional(iso), 'First bucket; default 23 hours (or 13 days) before `to`.'),
    to: described(v.optional(iso), 'Last bucket; default now.'),
    orgId: v.optional(OrgId),
  }),
  v.forward(
    v.check((q) => !(q.from && q.to && Date.parse(q.from) > Date.parse(q.to)), 'from must not be after to'),
    ['from'],
  ),
  v.forward(
    v.check(
      (q) =>
        !(q.from && q.to) ||
        Date.parse(q.to) - Date.parse(q.from) <= (q.granularity === 'day' ? 91 * DAY_MS : 167 * 3_600_000),
      'at most 168 hourly or 92 daily buckets at once',
    ),
    ['to'],
  ),
);

export const ListRunsQuery = v.strictObject({
  job: v.optional(v.picklist(JOBS)),
  limit: LimitQuery,
  cursor: CursorQuery,
});

// ---------------------------------------------------------------------------------------------------------
// Path parameters. A value that cannot name a resource is answered 404, like an unknown one.

const AttemptId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'an attempt id'));

export const SessionIdParams = v.strictObject({ id: SESSION_ID });
export const PolicyIdParams = v.strictObject({
  id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'a policy id')),
});
export const AttemptIdParams = v.strictObject({ attemptId: AttemptId });
export const JobParams = v.strictObject({ job: v.picklist(JOBS) });
export const ChannelParams = v.strictObject({ channel: v.picklist(CHANNELS) });

// ---------------------------------------------------------------------------------------------------------
// Bodies.

/** The product registers a session / reports progress: the domain's input schemas, one definition. */
export const RegisterSessionBody = RegisterSessionSchema;
export const UpdateSessionBody = UpdateSessionSchema;

export const RegenerateBody = v.strictObject({
  overrideNextRetryAt: described(v.optional(iso), 'When the next retry happens; default now.'),
  automated: described(v.optional(v.boolean()), '`false` also pauses automation.'),
  reason: v.optional(Reason),
});

export const ReasonBody = v.strictObject({ reason: v.optional(Reason) });

/** The cursor of a batch operation's previous call (reset-stuck, DLQ replay), to continue it. */
const ContinuationCursor = described(
  v.optional(v.pipe(text(1, 4096), v.regex(/^[A-Za-z0-9_-]+$/, 'an opaque cursor from a previous call'))),
  'Continue the operation: `nextCursor` of the previous call, with the same filters.',
);

export const ResetStuckBody = v.strictObject({
  olderThanMinutes: integer(1, 366 * 1440),
  dryRun: v.optional(v.boolean(), true),
  limit: described(
    v.optional(integer(1, RESET_STUCK_MAX_LIMIT), 100),
    `Sessions to match (and, not dry, time out) in this call, 1..${RESET_STUCK_MAX_LIMIT}; one call also reads at most ${RESET_STUCK_READ_BUDGET} processing sessions.`,
  ),
  cursor: ContinuationCursor,
});

export const CreatePolicyBody = CreatePolicySchema;

export const RunJobBody = v.strictObject({
  dryRun: described(v.optional(v.boolean(), false), 'Select exactly as a real run, change nothing.'),
  limit: v.optional(integer(1, 10_000)),
});

const MAX_REPLAY = 1000;

export const ReplayBody = v.strictObject({
  dryRun: v.optional(v.boolean(), true),
  limit: described(v.optional(integer(1, MAX_REPLAY), 100), `Messages to move at most, 1..${MAX_REPLAY}.`),
  sessionId: v.optional(SESSION_ID),
  attemptId: v.optional(AttemptId),
  errorContains: described(
    v.optional(text(1, 200)),
    "Case-insensitive text in the failed delivery's recorded error.",
  ),
  force: described(
    v.optional(v.boolean(), false),
    'Also replay notifications refused a third possible send (provider_window_exceeded): each may already have reached the person twice; check the provider first. Audited.',
  ),
  cursor: ContinuationCursor,
});

// ---------------------------------------------------------------------------------------------------------
// Recipients and consent (#13), and the public routes' inputs.

const CONSENT = ['email', 'sms', 'whatsapp'] as const;

/** An email address or a phone number as an operator types it; normalised by the route (case, E.164). */
export const RecipientParams = v.strictObject({
  address: described(text(3, 320), 'An email address or a phone number (normalised: case, E.164).'),
});
export const RecipientChannelParams = v.strictObject({
  address: text(3, 320),
  channel: v.picklist(CONSENT),
});
export const SuppressBody = v.strictObject({
  channel: v.picklist(CONSENT),
  reason: described(v.optional(Reason), 'Why, for the audit record.'),
});

/** An unsubscribe token as the email's link carries it (checked by its HMAC, not by this pattern). */
export const UnsubscribeTokenParams = v.strictObject({
  token: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,2048}$/, 'an unsubscribe token')),
});
/** RFC 8058: a one-click POST carries `List-Unsubscribe=One-Click`; the confirm page's form sends the same. */
export const OneClickForm = v.looseObject({ 'List-Unsubscribe': v.optional(v.literal('One-Click')) });

export const TwilioStatusQuery = v.strictObject({
  ref: described(v.optional(text(1, 1024)), 'The outcome the message belongs to (set by the sender).'),
});
/** Twilio's form fields are many and change; each handler's own schema checks the ones it reads. */
export const TwilioForm = v.looseObject({ AccountSid: v.optional(v.string()) });

export const ConsentChannelParams = v.strictObject({ channel: v.literal('email') });
