// What a scheduled job accepts: the EventBridge rule's scheduled event, or a manual invocation
// (`aws lambda invoke --payload '{"trigger":"manual","dryRun":true}'`). Anything else is rejected with
// a clear reason in a run record, and changes nothing else.
import * as v from 'valibot';
import { describeIssues, integer, isoDateTime, jsonObject, safeParse } from '../schema.ts';

const EventBridgeScheduledEventSchema = v.looseObject({
  version: v.string(),
  id: v.string(),
  'detail-type': v.literal('Scheduled Event'),
  source: v.literal('aws.events'),
  account: v.string(),
  time: isoDateTime,
  region: v.string(),
  resources: v.array(v.string()),
  detail: jsonObject,
});

const ManualRunEventSchema = v.strictObject({
  trigger: v.picklist(['manual', 'cli', 'api', 'local']),
  dryRun: v.optional(v.boolean(), false),
  limit: v.optional(integer(1, 100_000)),
});

export type ScheduledInvocation = { trigger: string; dryRun: boolean; limit?: number };

export function parseScheduledEvent(
  event: unknown,
): { ok: true; invocation: ScheduledInvocation } | { ok: false; reason: string } {
  const scheduled = safeParse(EventBridgeScheduledEventSchema, event);
  if (scheduled.success) return { ok: true, invocation: { trigger: 'schedule', dryRun: false } };
  const manual = safeParse(ManualRunEventSchema, event);
  if (manual.success) return { ok: true, invocation: manual.data };
  const issues = describeIssues(manual.issues, '(event)');
  return {
    ok: false,
    reason: `not a scheduled event (detail-type "Scheduled Event" from aws.events) nor a manual run ({ trigger, dryRun?, limit? }): ${issues}`,
  };
}
