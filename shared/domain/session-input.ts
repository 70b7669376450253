// What the product sends to register a session or report its progress, and what an operator sends to
// move its next retry: the same schemas for the API, EventBridge and the CLI. Pure zod and domain
// modules only, so the route table (and CDK, which reads it) loads without the AWS SDK.
import * as z from 'zod';
import { HttpUrl, MetadataSchema } from './metadata.ts';
import { ContactSchema, SESSION_ID, SESSION_STATUSES } from './session.ts';

const iso = z.iso.datetime({ offset: true });

export const RegisterSessionSchema = z
  .object({
    sessionId: SESSION_ID,
    kind: z.string().min(1).max(64),
    status: z.enum(['active', 'stalled', 'processing']),
    orgId: z.string().min(1).max(128).optional(),
    policyId: z.string().min(1).max(128).optional(),
    contact: ContactSchema.optional(),
    recoveryUrl: HttpUrl.optional(),
    sizeBytes: z.number().int().min(0).max(1e13).optional(),
    processingStartedAt: iso.optional(),
    metadata: MetadataSchema.optional(),
  })
  .strict();
export type RegisterSessionInput = z.infer<typeof RegisterSessionSchema>;

export const UpdateSessionSchema = z
  .object({
    status: z.enum(SESSION_STATUSES).optional(),
    contact: ContactSchema.optional(),
    recoveryUrl: HttpUrl.optional(),
    sizeBytes: z.number().int().min(0).max(1e13).optional(),
    metadata: MetadataSchema.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one field to change' });
export type UpdateSessionInput = z.infer<typeof UpdateSessionSchema>;

export const RegenerateSchema = z
  .object({
    overrideNextRetryAt: iso.optional(),
    automated: z.boolean().optional(),
    reason: z.string().max(500).optional(),
  })
  .strict();
export type RegenerateInput = z.infer<typeof RegenerateSchema>;
