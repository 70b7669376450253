// The soak's knobs, from the environment (SOAK_*), with the issue's numbers as defaults. Bad values fail
// before anything starts.
import * as v from 'valibot';
import {
  describeIssues,
  finiteNumber,
  type Infer,
  integer,
  numberFromText,
  safeParse,
} from '../../shared/schema.ts';

const int = (min: number, max: number, fallback: number) =>
  v.optional(numberFromText(integer(min, max)), fallback);
const share = (fallback: number) => v.optional(numberFromText(finiteNumber(0, 1)), fallback);

const EnvSchema = v.object({
  SOAK_SESSIONS: int(1, 200_000, 10_000),
  /** Attempts per session (the policy's maxRetries). */
  SOAK_MAX_RETRIES: int(1, 5, 2),
  SOAK_INITIAL_DELAY_SECONDS: int(0, 600, 10),
  SOAK_BACKOFF: v.optional(numberFromText(finiteNumber(1, 10)), 2),
  SOAK_MAX_DELAY_SECONDS: int(0, 3600, 40),
  /** First due times are spread over this many seconds after seeding (sessions stall over time). */
  SOAK_RAMP_SECONDS: int(0, 3600, 450),
  SOAK_SWEEPERS: int(1, 16, 4),
  SOAK_SWEEP_INTERVAL_MS: int(100, 60_000, 1000),
  /** `overlap`: every sweeper walks every shard (they race for the same sessions); `split`: own shards first. */
  SOAK_SWEEPER_SHARDS: v.optional(v.picklist(['overlap', 'split']), 'overlap'),
  SOAK_SHARDS: int(1, 64, 8),
  SOAK_DISPATCH_LEASE_SECONDS: int(5, 600, 10),
  SOAK_SWEEP_LIMIT: int(1, 100_000, 500),
  SOAK_POLLERS_PER_CHANNEL: int(1, 8, 2),
  /** The channel queues' visibility timeout (production: 60 s). */
  SOAK_VISIBILITY_SECONDS: int(1, 600, 10),
  /** Share of claimed attempts whose sweep is killed (after the claim or after publishing, half each). */
  SOAK_SWEEP_KILL_RATE: share(0.01),
  /** Share of sender invocations killed (before or after the provider call, half each). */
  SOAK_SENDER_KILL_RATE: share(0.01),
  /** Share of received messages delivered twice (a copy back on the queue, or the same record again). */
  SOAK_DUPLICATE_RATE: share(0.05),
  /** When the provider outage starts, in seconds after the sweepers start; its length. 0 length: none. */
  SOAK_OUTAGE_AT_SECONDS: int(0, 3600, 150),
  SOAK_OUTAGE_SECONDS: int(0, 3600, 60),
  /** When the sweepers lose sqs:SendMessage on the email queue, in seconds after they start; for how long. */
  SOAK_PUBLISH_OUTAGE_AT_SECONDS: int(0, 3600, 30),
  SOAK_PUBLISH_OUTAGE_SECONDS: int(0, 3600, 60),
  /** Hard bound on the run (seeding to quiescence); the ledger is reconciled after it either way. */
  SOAK_MAX_MINUTES: v.optional(numberFromText(finiteNumber(0.5, 120)), 40),
  SOAK_PROGRESS_SECONDS: int(1, 600, 10),
  SOAK_SEED: v.optional(numberFromText(v.pipe(v.number(), v.safeInteger(), v.minValue(0)))),
});

export type SoakConfig = Readonly<Omit<Infer<typeof EnvSchema>, 'SOAK_SEED'> & { SOAK_SEED: number }>;

export function soakConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SoakConfig {
  const parsed = safeParse(EnvSchema, env);
  if (!parsed.success) throw new Error(`invalid soak settings: ${describeIssues(parsed.issues)}`);
  return { ...parsed.data, SOAK_SEED: parsed.data.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31) };
}
