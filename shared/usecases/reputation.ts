// GET /v1/admin/reputation: each channel's rolling 24 h rates from the receipts, and the guard's pause.
import type { AppContext } from '../context.ts';
import { CHANNELS } from '../infra/resources.ts';
import { readReputation } from '../receipts/reputation.ts';
import { GUARDED_CHANNELS, guardFromEnv, readPause, SES_REVIEW } from '../reputation/guard.ts';

const REPORTED = CHANNELS.filter((c) => c === 'email' || c === 'sms' || c === 'whatsapp');

export async function reputationReport(ctx: AppContext) {
  const now = ctx.clock();
  const guard = guardFromEnv();
  const channels = await Promise.all(
    REPORTED.map(async (channel) => {
      const [window, pause] = await Promise.all([
        readReputation(ctx, channel, now),
        (GUARDED_CHANNELS as readonly string[]).includes(channel)
          ? readPause(ctx, channel)
          : Promise.resolve({ paused: false } as { paused: boolean; pausedAt?: string; reason?: string }),
      ]);
      return {
        ...window,
        paused: pause.paused,
        pausedAt: pause.pausedAt ?? null,
        pauseReason: pause.reason ?? null,
      };
    }),
  );
  return {
    channels,
    thresholds: {
      alarmBouncePercent: SES_REVIEW.bouncePercent / 2,
      alarmComplaintPercent: SES_REVIEW.complaintPercent / 2,
      pauseBouncePercent: guard.pauseBouncePercent,
      pauseComplaintPercent: guard.pauseComplaintPercent,
      minSends: guard.minSends,
    },
  };
}
