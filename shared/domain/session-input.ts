// What the product sends to register a session or report its progress, and what an operator sends to
// move its next retry: the same schemas for the API, EventBridge and the CLI. Pure schema and domain
// modules only, so the route table (and CDK, which reads it) loads without the AWS SDK.
import * as v from 'valibot';
import { type Infer, inputDateTime, integer, text } from '../schema.ts';
import { AmountSchema } from './amount.ts';
import { HttpUrl, MetadataSchema } from './metadata.ts';
import { ContactSchema, SESSION_ID, SESSION_STATUSES } from './session.ts';

const SizeBytes = integer(0, 1e13);

export const RegisterSessionSchema = v.strictObject({
  sessionId: SESSION_ID,
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
