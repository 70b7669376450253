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
  /** The run id the admin API answered with (`POST /v1/admin/jobs/{job}/run`), so the record carries it. */
  runId: v.optional(v.pipe(v.string(), v.regex(/^\d{8}T\d{9}Z-[0-9a-f]{6}$/, 'a run id'))),
  /** Who asked for the run (the caller's ARN): the record's trigger becomes `manual:<requestedBy>`. */
  requestedBy: v.optional(v.pipe(v.string(), v.regex(/^[\x21-\x7e]{1,512}$/, 'a caller'))),
});

/** A sweep fan-out worker, invoked asynchronously by a sweep whose backlog exceeded its limit. */
const SweepWorkerEventSchema = v.strictObject({
  trigger: v.literal('fan-out'),
  parentRunId: v.pipe(v.string(), v.regex(/^[0-9TZ]{8,20}-[0-9a-f]{6}$/, 'a run id')),
  shards: v.pipe(
    v.array(v.pipe(v.string(), v.regex(/^\d{1,3}$/, 'a shard number'))),
    v.minLength(1),
    v.maxLength(256),
  ),
});

export type ScheduledInvocation = {
  trigger: string;
  dryRun: boolean;
  limit?: number;
  runId?: string;
  worker?: { shards: string[]; parentRunId: string };
};

export function parseScheduledEvent(
  event: unknown,
): { ok: true; invocation: ScheduledInvocation } | { ok: false; reason: string } {
  const scheduled = safeParse(EventBridgeScheduledEventSchema, event);
  if (scheduled.success) return { ok: true, invocation: { trigger: 'schedule', dryRun: false } };
  const manual = safeParse(ManualRunEventSchema, event);
  if (manual.success) {
    const { requestedBy, ...invocation } = manual.data;
    return {
      ok: true,
      invocation: { ...invocation, ...(requestedBy ? { trigger: `manual:${requestedBy}` } : {}) },
    };
  }
  const worker = safeParse(SweepWorkerEventSchema, event);
  if (worker.success) {
    const { shards, parentRunId } = worker.data;
    return { ok: true, invocation: { trigger: 'fan-out', dryRun: false, worker: { shards, parentRunId } } };
  }
  const issues = describeIssues(manual.issues, '(event)');
  return {
    ok: false,
    reason: `not a scheduled event (detail-type "Scheduled Event" from aws.events) nor a manual run ({ trigger, dryRun?, limit?, runId?, requestedBy? }) nor a sweep worker ({ trigger: "fan-out", parentRunId, shards }): ${issues}`,
  };
}
