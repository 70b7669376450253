// What the product sends to register a session or report its progress, and what an operator sends to
// move its next retry: the same schemas for the API, EventBridge and the CLI. Pure schema and domain
// modules only, so the route table (and CDK, which reads it) loads without the AWS SDK.
import * as v from 'valibot';
import { type Infer, inputDateTime, integer, text } from '../schema.ts';
import { AmountSchema } from './amount.ts';
import { HttpUrl, MetadataSchema } from './metadata.ts';
import { ContactSchema, SESSION_ID, SESSION_STATUSES } from './session.ts';

const SizeBytes = integer(0, 1e13);

/** Sessions one reset-stuck call matches (and changes) at most; a continuation does the rest. */
export const RESET_STUCK_MAX_LIMIT = 500;
/**
 * Processing sessions one reset-stuck call reads at most, matching or not, so its work never grows with
 * the table: a few DynamoDB pages.
 */
export const RESET_STUCK_READ_BUDGET = 1000;

/**
 * Every static segment of the API's paths (test/api/route-table.test.ts keeps this equal to the route
 * table). A session registered under one could collide with a sibling static route — `reset-stuck` is
 * `POST /v1/sessions/reset-stuck`, not that session — so registration refuses them all.
 */
export const ROUTE_WORDS: readonly string[] = [
  'active',
  'admin',
  'attempts',
  'channels',
  'dlq',
  'events',
  'health',
  'hooks',
  'inbound',
  'jobs',
  'notifications',
  'openapi.json',
  'pause',
  'policies',
  'preview',
  'public',
  'readyz',
  'recipients',
  'recover',
  'regenerate',
  'replay',
  'reputation',
  'reset-stuck',
  'resume',
  'retry',
  'retry-now',
  'run',
  'runs',
  'series',
  'sessions',
  'shopify',
  'stats',
  'status',
  'stripe',
  'stuck',
  'suppressions',
  'timeline',
  'twilio',
  'unsubscribe',
  'v1',
];

const routeWords = new Set(ROUTE_WORDS);

/** A session id a product may register: the stored id's form, and no route word. */
export const NEW_SESSION_ID = v.pipe(
  SESSION_ID,
  v.check(
    (id) => !routeWords.has(id),
    (issue) =>
      `"${String(issue.input)}" is a word of the API's paths (as in /v1/sessions/reset-stuck) and cannot be a session id: its routes could not reach it`,
  ),
);

export const RegisterSessionSchema = v.strictObject({
  sessionId: NEW_SESSION_ID,
  kind: text(1, 64),
  status: v.picklist(['active', 'stalled', 'processing']),
  orgId: v.optional(text(1, 128)),
  policyId: v.optional(text(1, 128)),
  contact: v.optional(ContactSchema),
  recoveryUrl: v.optional(HttpUrl),
  sizeBytes: v.optional(SizeBytes),
  processingStartedAt: v.optional(inputDateTime),
  metadata: v.optional(MetadataSchema),
  amount: v.optional(AmountSchema),
});
export type RegisterSessionInput = Infer<typeof RegisterSessionSchema>;

export const UpdateSessionSchema = v.pipe(
  v.strictObject({
    status: v.optional(v.picklist(SESSION_STATUSES)),
    contact: v.optional(ContactSchema),
    recoveryUrl: v.optional(HttpUrl),
    sizeBytes: v.optional(SizeBytes),
    metadata: v.optional(MetadataSchema),
    amount: v.optional(AmountSchema),
  }),
  v.check((b) => Object.keys(b).length > 0, 'give at least one field to change'),
);
export type UpdateSessionInput = Infer<typeof UpdateSessionSchema>;

export const RegenerateSchema = v.strictObject({
  overrideNextRetryAt: v.optional(inputDateTime),
  automated: v.optional(v.boolean()),
  reason: v.optional(text(0, 500)),
});
export type RegenerateInput = Infer<typeof RegenerateSchema>;
