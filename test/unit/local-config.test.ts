// `npm start` judges reputation with the stage's guard settings (#20 item 7): REPUTATION_MIN_SENDS and the
// pause thresholds come from env or .env, read by the same parser as the deployed receipts function, and a
// bad value stops the start with the variable's name instead of falling back to the defaults.
import { describe, expect, it } from 'vitest';
import { loadLocalConfig } from '../../local/config.ts';
import { DEFAULT_GUARD, guardFromEnv } from '../../shared/reputation/guard.ts';

describe('local configuration: the reputation guard', () => {
  it('reads the pause thresholds and minimum sends from env, as the deployed functions do', () => {
    const env = {
      REPUTATION_PAUSE_BOUNCE_PERCENT: '2.5',
      REPUTATION_PAUSE_COMPLAINT_PERCENT: '0.05',
      REPUTATION_MIN_SENDS: '3',
    };
    const { guard } = loadLocalConfig(env);
    expect(guard).toEqual({ pauseBouncePercent: 2.5, pauseComplaintPercent: 0.05, minSends: 3 });
    expect(guard).toEqual(guardFromEnv(env));
  });

  it('judges with the defaults when none is set', () => {
    expect(loadLocalConfig({}).guard).toEqual(DEFAULT_GUARD);
  });

  it('refuses a value the deployed function would refuse, naming the variable', () => {
    expect(() => loadLocalConfig({ REPUTATION_MIN_SENDS: '0' })).toThrow(
      /invalid local configuration: REPUTATION_MIN_SENDS must be a positive number, got 0/,
    );
    expect(() => loadLocalConfig({ REPUTATION_PAUSE_BOUNCE_PERCENT: 'five' })).toThrow(
      /REPUTATION_PAUSE_BOUNCE_PERCENT/,
    );
  });
});
