// What a scheduled job accepts: the EventBridge rule's scheduled event, or a manual invocation
// (`aws lambda invoke --payload '{"trigger":"manual","dryRun":true}'`). Anything else is rejected with
// a clear reason in a run record, and changes nothing else.
import * as z from 'zod';

export const EventBridgeScheduledEventSchema = z
  .object({
    version: z.string(),
    id: z.string(),
    'detail-type': z.literal('Scheduled Event'),
    source: z.literal('aws.events'),
    account: z.string(),
    time: z.iso.datetime({ offset: true }),
    region: z.string(),
    resources: z.array(z.string()),
    detail: z.record(z.string(), z.unknown()),
  })
  .passthrough();

export const ManualRunEventSchema = z
  .object({
    trigger: z.enum(['manual', 'cli', 'api', 'local']),
    dryRun: z.boolean().default(false),
    limit: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();

export type ScheduledInvocation = { trigger: string; dryRun: boolean; limit?: number };

export function parseScheduledEvent(
  event: unknown,
): { ok: true; invocation: ScheduledInvocation } | { ok: false; reason: string } {
  const scheduled = EventBridgeScheduledEventSchema.safeParse(event);
  if (scheduled.success) return { ok: true, invocation: { trigger: 'schedule', dryRun: false } };
  const manual = ManualRunEventSchema.safeParse(event);
  if (manual.success) return { ok: true, invocation: manual.data };
  const issues = manual.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ');
  return {
    ok: false,
    reason: `not a scheduled event (detail-type "Scheduled Event" from aws.events) nor a manual run ({ trigger, dryRun?, limit? }): ${issues}`,
  };
}
