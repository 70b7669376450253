// The reputation guard. After every bounce or complaint receipt the receipts function reads the channel's
// rolling 24 h rates (../receipts/reputation.ts); when email goes above the configured thresholds (with
// enough sends to judge), email sending pauses itself: a pause item in the control table that the email
// sender checks (./pause-gate.ts) — its messages wait on their queue, nothing is dropped — and a
// `SendingPaused` metric whose alarm pages. An operator resumes with POST /v1/admin/channels/email/resume.
//   pk `sending#<channel>`, sk `pause`: { paused, pausedAt, reason, rates } / { paused: false, resumedBy, … }
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../context.ts';
import { optionalEnv } from '../env.ts';
import type { Channel } from '../infra/resources.ts';
import { type ReputationWindow, readReputation } from '../receipts/reputation.ts';

/** SES's review thresholds (it may pause the account at 10 % / 0.5 %). Alarms fire at half of them. */
export const SES_REVIEW = { bouncePercent: 5, complaintPercent: 0.1 } as const;

export interface GuardThresholds {
  /** Bounce rate (percent of sends, 24 h) at or above which email pauses itself. */
  readonly pauseBouncePercent: number;
  readonly pauseComplaintPercent: number;
  /** Fewer sends than this in 24 h are not judged (3 bounces of 10 sends are not a reputation). */
  readonly minSends: number;
}

export const DEFAULT_GUARD: GuardThresholds = {
  pauseBouncePercent: SES_REVIEW.bouncePercent,
  pauseComplaintPercent: SES_REVIEW.complaintPercent,
  minSends: 100,
};

/** The channels the guard pauses: email's reputation is the sender account's, and SES enforces it. */
export const GUARDED_CHANNELS = ['email'] as const satisfies readonly Channel[];

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = optionalEnv(name, env);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
}

/** REPUTATION_PAUSE_BOUNCE_PERCENT, REPUTATION_PAUSE_COMPLAINT_PERCENT, REPUTATION_MIN_SENDS. */
export function guardFromEnv(env: NodeJS.ProcessEnv = process.env): GuardThresholds {
  return {
    pauseBouncePercent: positive(env, 'REPUTATION_PAUSE_BOUNCE_PERCENT', DEFAULT_GUARD.pauseBouncePercent),
    pauseComplaintPercent: positive(
      env,
      'REPUTATION_PAUSE_COMPLAINT_PERCENT',
      DEFAULT_GUARD.pauseComplaintPercent,
    ),
    minSends: positive(env, 'REPUTATION_MIN_SENDS', DEFAULT_GUARD.minSends),
  };
}

export interface PauseState {
  readonly paused: boolean;
  readonly pausedAt?: string;
  readonly reason?: string;
  readonly resumedBy?: string;
  readonly resumedAt?: string;
}

const key = (channel: Channel) => ({ pk: `sending#${channel}`, sk: 'pause' });

export async function readPause(ctx: AppContext, channel: Channel): Promise<PauseState> {
  const out = await ctx.ddb.send(
    new GetCommand({ TableName: ctx.tables.control, Key: key(channel), ConsistentRead: true }),
  );
  const item = out.Item;
  if (item?.paused !== true) {
    return {
      paused: false,
      ...(typeof item?.resumedBy === 'string' ? { resumedBy: item.resumedBy } : {}),
      ...(typeof item?.resumedAt === 'string' ? { resumedAt: item.resumedAt } : {}),
    };
  }
  return { paused: true, pausedAt: String(item.pausedAt), reason: String(item.reason ?? '') };
}

/** Why the window breaks the thresholds, or undefined when it does not. */
function breach(window: ReputationWindow, guard: GuardThresholds): string | undefined {
  const sends = Math.max(window.sent, window.delivered + window.bounced + window.undelivered);
  if (sends < guard.minSends) return undefined;
  if ((window.bounceRate ?? 0) >= guard.pauseBouncePercent)
    return `bounce rate ${window.bounceRate}% over 24 h (${window.bounced + window.undelivered} of ${sends}) reached ${guard.pauseBouncePercent}%`;
  if ((window.complaintRate ?? 0) >= guard.pauseComplaintPercent)
    return `complaint rate ${window.complaintRate}% over 24 h (${window.complained} of ${sends}) reached ${guard.pauseComplaintPercent}%`;
  return undefined;
}

export interface Evaluation {
  readonly window: ReputationWindow;
  /** This evaluation paused the channel (it was running before). */
  readonly pausedNow: boolean;
  readonly paused: boolean;
}

/** Reads the channel's 24 h window and pauses it when it breaks the thresholds. */
export async function evaluateReputation(
  ctx: AppContext,
  channel: Channel,
  guard: GuardThresholds,
): Promise<Evaluation> {
  const now = ctx.clock();
  const window = await readReputation(ctx, channel, now);
  if (!(GUARDED_CHANNELS as readonly string[]).includes(channel)) {
    return { window, pausedNow: false, paused: false };
  }
  const why = breach(window, guard);
  if (!why) return { window, pausedNow: false, paused: (await readPause(ctx, channel)).paused };
  try {
    await ctx.ddb.send(
      new PutCommand({
        TableName: ctx.tables.control,
        Item: {
          ...key(channel),
          paused: true,
          pausedAt: now.toISOString(),
          reason: why,
          bounceRate: window.bounceRate,
          complaintRate: window.complaintRate,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR paused = :false',
        ExpressionAttributeValues: { ':false': false },
      }),
    );
    return { window, pausedNow: true, paused: true };
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException')
      return { window, pausedNow: false, paused: true };
    throw error;
  }
}

/** An operator resumes a paused channel: its waiting messages go out from the next delivery on. */
export async function resumeChannel(
  ctx: AppContext,
  channel: Channel,
  audit: { readonly triggeredBy: string; readonly reason?: string },
): Promise<PauseState & { channel: Channel }> {
  const now = ctx.clock().toISOString();
  await ctx.ddb.send(
    new PutCommand({
      TableName: ctx.tables.control,
      Item: {
        ...key(channel),
        paused: false,
        resumedBy: audit.triggeredBy,
        resumedAt: now,
        ...(audit.reason ? { resumeReason: audit.reason } : {}),
      },
    }),
  );
  return { channel, paused: false, resumedBy: audit.triggeredBy, resumedAt: now };
}
