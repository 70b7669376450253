// Property tests of the retry schedule: what the design promises about delays, jitter, the preview and
// quiet hours must hold for every policy an operator can write, not just the default one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PolicyRules, PolicyRulesSchema } from '../../../shared/domain/policy-input.ts';
import {
  baseDelaySeconds,
  DEFAULT_POLICY,
  delaySeconds,
  inQuietHours,
  JITTER_MODES,
  type JitterMode,
  jitterFraction,
  nextAttemptAt,
  outOfQuietHours,
  planSchedule,
  type QuietHours,
} from '../../../shared/domain/retry-policy.ts';
import { parse } from '../../../shared/schema.ts';

const RUNS = { numRuns: 200 };
const HOUR = 3600_000;

/** Zones with DST on either hemisphere, half-hour and 45-minute offsets, and one without any change. */
const ZONES = [
  'UTC',
  'Europe/Paris',
  'America/New_York',
  'Asia/Kolkata',
  'America/St_Johns',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
] as const;

/** Instants of DST changes in 2026 (EU, US, southern hemisphere): the places where wall clocks jump. */
const DST_CHANGES = [
  '2026-03-29T01:00:00Z',
  '2026-10-25T01:00:00Z',
  '2026-03-08T07:00:00Z',
  '2026-11-01T06:00:00Z',
  '2026-04-04T15:00:00Z',
  '2026-10-03T15:00:00Z',
].map((iso) => new Date(iso).getTime());

const sessionIdArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,40}$/);
const attemptArb = fc.integer({ min: 1, max: 50 });

/** Any instant, with a bias to the hours around a DST change. */
const instantArb = fc.oneof(
  fc.date({
    min: new Date('2020-01-01T00:00:00Z'),
    max: new Date('2035-12-31T23:59:59Z'),
    noInvalidDate: true,
  }),
  fc
    .tuple(fc.constantFrom(...DST_CHANGES), fc.integer({ min: -36 * HOUR, max: 36 * HOUR }))
    .map(([t, offset]) => new Date(t + offset)),
);

const hhmmArb = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);

const quietHoursArb: fc.Arbitrary<QuietHours> = fc.record({
  start: hhmmArb,
  end: hhmmArb,
  timezone: fc.constantFrom(...ZONES),
});

/** A policy as an operator may write it: every generated value passes PolicyRulesSchema. */
const rulesArb = (options: { quiet?: boolean } = {}): fc.Arbitrary<PolicyRules> =>
  fc
    .record({
      maxRetries: fc.integer({ min: 0, max: 50 }),
      delays: fc.tuple(fc.integer({ min: 0, max: 30 * 86400 }), fc.integer({ min: 0, max: 30 * 86400 })),
      backoffMultiplier: fc.double({ min: 1, max: 10, noNaN: true }),
      jitter: fc.constantFrom(...JITTER_MODES),
      quietHours: options.quiet ? quietHoursArb : fc.option(quietHoursArb, { nil: undefined }),
    })
    .map(({ delays: [a, b], quietHours, ...rest }) =>
      parse(PolicyRulesSchema, {
        ...rest,
        initialDelaySeconds: Math.min(a, b),
        maxDelaySeconds: Math.max(a, b),
        enabledChannels: ['email'],
        ...(quietHours ? { quietHours } : {}),
      }),
    );

/**
 * Whole minutes out of the window just before `moved` (and after `from`): 0 when `moved` is the end of the
 * window; more when the time was pushed later than needed.
 */
function idleMinutesBefore(moved: Date, from: Date, quiet: QuietHours, zone: string): number {
  let n = 0;
  for (
    let t = moved.getTime() - 60_000;
    t > from.getTime() && n < 120 && !inQuietHours(new Date(t), quiet, zone);
    t -= 60_000
  ) {
    n++;
  }
  return n;
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** The zone whose wall clock decides quiet hours: the recipient's when it has a valid one. */
function effectiveZone(quiet: QuietHours, recipientZone: string | undefined): string {
  return recipientZone ?? quiet.timezone;
}

describe('retry schedule: delays', () => {
  it('with jitter none, delays never decrease with the attempt number', () => {
    fc.assert(
      fc.property(rulesArb(), sessionIdArb, attemptArb, (policy, id, n) => {
        // Prepare
        const rules = { ...policy, jitter: 'none' as const };
        // Act
        const here = delaySeconds(rules, id, n);
        const next = delaySeconds(rules, id, n + 1);
        // Assess
        expect(next).toBeGreaterThanOrEqual(here);
        expect(Number.isInteger(here)).toBe(true);
      }),
      RUNS,
    );
  });

  it('no delay, whatever the jitter, exceeds maxDelaySeconds or goes below 0', () => {
    fc.assert(
      fc.property(rulesArb(), sessionIdArb, attemptArb, (rules, id, n) => {
        // Act
        const delay = delaySeconds(rules, id, n);
        // Assess
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(rules.maxDelaySeconds);
        expect(Number.isInteger(delay)).toBe(true);
      }),
      RUNS,
    );
  });

  it('full jitter lies in [0, base] and equal jitter in [base/2, base] (whole seconds, rounded down)', () => {
    fc.assert(
      fc.property(rulesArb(), sessionIdArb, attemptArb, (policy, id, n) => {
        // Prepare
        const base = baseDelaySeconds(policy, n);
        // Act
        const full = delaySeconds({ ...policy, jitter: 'full' }, id, n);
        const equal = delaySeconds({ ...policy, jitter: 'equal' }, id, n);
        // Assess
        expect(full).toBeGreaterThanOrEqual(0);
        expect(full).toBeLessThanOrEqual(base);
        expect(equal).toBeGreaterThanOrEqual(Math.floor(base / 2));
        expect(equal).toBeLessThanOrEqual(base);
      }),
      RUNS,
    );
  });

  it('jitter is fixed by session and attempt: the same inputs give the same delay, in [0, 1)', () => {
    fc.assert(
      fc.property(rulesArb(), sessionIdArb, attemptArb, (rules, id, n) => {
        // Act
        const f1 = jitterFraction(id, n);
        const f2 = jitterFraction(id, n);
        // Assess
        expect(f1).toBe(f2);
        expect(f1).toBeGreaterThanOrEqual(0);
        expect(f1).toBeLessThan(1);
        expect(delaySeconds(rules, id, n)).toBe(delaySeconds(structuredClone(rules), `${id}`, n));
      }),
      RUNS,
    );
  });

  it('jitter differs between sessions and attempts (it spreads a herd of retries)', () => {
    // Prepare
    const fractions = new Set<number>();
    // Act
    for (let s = 0; s < 50; s++)
      for (let n = 1; n <= 4; n++) fractions.add(jitterFraction(`session-${s}`, n));
    // Assess
    expect(fractions.size).toBe(200);
  });

  it('the default policy is the design one: 1 h, 2 h, 4 h, capped at a day', () => {
    // Act
    const delays = [1, 2, 3, 4, 5, 6, 10].map((n) => delaySeconds(DEFAULT_POLICY, 'any', n));
    // Assess
    expect(delays).toEqual([3600, 7200, 14400, 28800, 57600, 86400, 86400]);
    expect(DEFAULT_POLICY).toMatchObject({ maxRetries: 3, jitter: 'none', enabledChannels: ['email'] });
  });
});

describe('retry schedule: planSchedule', () => {
  it('returns exactly maxRetries − done attempts, numbered consecutively, never past maxRetries', () => {
    fc.assert(
      fc.property(
        rulesArb(),
        sessionIdArb,
        instantArb,
        fc.integer({ min: 0, max: 60 }),
        (rules, id, from, done) => {
          // Act
          const plan = planSchedule(rules, id, from, done);
          // Assess
          expect(plan).toHaveLength(Math.max(0, rules.maxRetries - done));
          plan.forEach((step, i) => {
            expect(step.attempt).toBe(done + 1 + i);
            expect(step.channels).toEqual(rules.enabledChannels);
          });
          expect(plan.every((step) => step.attempt <= rules.maxRetries)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('a preview equals recomputation: each step is nextAttemptAt from the previous one, times never go back', () => {
    fc.assert(
      fc.property(
        rulesArb().map((r) => ({ ...r, maxRetries: Math.min(r.maxRetries, 15) })),
        sessionIdArb,
        instantArb,
        fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
        (rules, id, from, zone) => {
          // Act
          const plan = planSchedule(rules, id, from, 0, zone);
          const again = planSchedule(structuredClone(rules), id, new Date(from), 0, zone);
          // Assess
          expect(again).toEqual(plan);
          let previous = from;
          const recomputed = plan.map((step) => {
            const at = nextAttemptAt(rules, id, step.attempt, previous, zone);
            const delay = delaySeconds(rules, id, step.attempt);
            const early = at.getTime() < previous.getTime() + delay * 1000;
            previous = at;
            return { at: at.toISOString(), delaySeconds: delay, early };
          });
          expect(recomputed).toEqual(
            plan.map((s) => ({ at: s.at, delaySeconds: s.delaySeconds, early: false })),
          );
        },
      ),
      RUNS,
    );
  });

  it('the plan continued after k attempts (as the sweep continues it) is the tail of the full plan', () => {
    fc.assert(
      fc.property(
        rulesArb().filter((r) => r.maxRetries > 0),
        sessionIdArb,
        instantArb,
        fc.nat(),
        (rules, id, from, seed) => {
          // Prepare
          const full = planSchedule(rules, id, from);
          const k = seed % (full.length + 1);
          const resumeFrom = k === 0 ? from : new Date(full[k - 1]!.at);
          // Act
          const continued = planSchedule(rules, id, resumeFrom, k);
          // Assess
          expect(continued).toEqual(full.slice(k));
        },
      ),
      RUNS,
    );
  });
});

describe('retry schedule: quiet hours', () => {
  it('no scheduled attempt lands in quiet hours, in the recipient zone when it has one', () => {
    fc.assert(
      fc.property(
        rulesArb({ quiet: true }).map((r) => ({ ...r, maxRetries: Math.min(r.maxRetries, 12) })),
        sessionIdArb,
        instantArb,
        fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
        (rules, id, from, recipientZone) => {
          // Prepare
          const quiet = rules.quietHours!;
          const zone = effectiveZone(quiet, recipientZone);
          // Act
          const plan = planSchedule(rules, id, from, 0, recipientZone);
          // Assess
          for (const step of plan) {
            expect(inQuietHours(new Date(step.at), quiet, zone), `${step.at} in ${zone}`).toBe(false);
          }
        },
      ),
      RUNS,
    );
  });

  it('short delays around DST changes: nextAttemptAt is never inside the window', () => {
    fc.assert(
      fc.property(
        quietHoursArb,
        fc.integer({ min: 0, max: 6 * 3600 }),
        sessionIdArb,
        instantArb,
        fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
        (quietHours, initial, id, from, recipientZone) => {
          // Prepare
          const rules = {
            ...DEFAULT_POLICY,
            initialDelaySeconds: initial,
            maxDelaySeconds: initial,
            quietHours,
          };
          // Act
          const at = nextAttemptAt(rules, id, 1, from, recipientZone);
          // Assess
          expect(inQuietHours(at, quietHours, effectiveZone(quietHours, recipientZone))).toBe(false);
          expect(at.getTime()).toBeGreaterThanOrEqual(from.getTime() + initial * 1000);
        },
      ),
      RUNS,
    );
  });

  it('outOfQuietHours never moves a time backwards, at most ~24 h forwards, and leaves a non-quiet time alone', () => {
    fc.assert(
      fc.property(
        instantArb,
        quietHoursArb,
        fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
        (at, quiet, recipientZone) => {
          // Prepare
          const zone = effectiveZone(quiet, recipientZone);
          const wasQuiet = inQuietHours(at, quiet, zone);
          // Act
          const moved = outOfQuietHours(at, quiet, recipientZone);
          // Assess
          const shift = moved.getTime() - at.getTime();
          expect(shift).toBeGreaterThanOrEqual(0);
          // A window is under 24 h of wall clock and a DST change can add the hour it skips; only when the
          // free part of the day is an hour or less can a DST gap swallow it whole, and the next day's counts.
          const free = (minutesOf(quiet.start) - minutesOf(quiet.end) + 1440) % 1440;
          expect(shift).toBeLessThanOrEqual(free === 0 || free > 60 ? 25 * HOUR : 48 * HOUR);
          expect(inQuietHours(moved, quiet, zone)).toBe(false);
          if (!wasQuiet) expect(moved.getTime()).toBe(at.getTime());
        },
      ),
      RUNS,
    );
  });

  it('outOfQuietHours lands on the end of the window, not later (save when a DST gap swallowed the end)', () => {
    fc.assert(
      fc.property(
        instantArb,
        quietHoursArb,
        fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
        (at, quiet, recipientZone) => {
          // Prepare
          const zone = effectiveZone(quiet, recipientZone);
          fc.pre(inQuietHours(at, quiet, zone));
          // Act
          const moved = outOfQuietHours(at, quiet, recipientZone);
          // Assess: without DST the end is exact; with it, never a whole skipped hour late.
          const idle = idleMinutesBefore(moved, at, quiet, zone);
          if (zone === 'UTC' || zone === 'Asia/Kolkata') expect(idle).toBe(0);
          else expect(idle).toBeLessThan(60);
        },
      ),
      RUNS,
    );
  });

  it('keeps the jitter: retries pushed out of a quiet window spread after its end instead of all landing on it', () => {
    // Prepare: 200 sessions stalled at 23:00 UTC, each due within the hour (inside 22:00–07:00 quiet hours)
    const quietHours: QuietHours = { start: '22:00', end: '07:00', timezone: 'UTC' };
    const from = new Date('2026-03-02T23:00:00Z');
    const end = Date.parse('2026-03-03T07:00:00Z');
    const ids = Array.from({ length: 200 }, (_, i) => `sess-${i}`);
    const land = (jitter: JitterMode) =>
      ids.map((id) =>
        nextAttemptAt(
          { ...DEFAULT_POLICY, initialDelaySeconds: 3600, maxDelaySeconds: 3600, jitter, quietHours },
          id,
          1,
          from,
        ).getTime(),
      );
    // Act
    const full = land('full');
    const equal = land('equal');
    const none = land('none');
    // Assess: full jitter spreads over the hour after the end (its own span), equal over half of it;
    // a policy without jitter asked for none and gets the end itself.
    expect(new Set(full).size).toBeGreaterThan(150);
    for (const t of full) expect(t - end).toBeGreaterThanOrEqual(0);
    for (const t of full) expect(t - end).toBeLessThan(3600_000);
    expect(full.filter((t) => t - end < 60_000).length).toBeLessThan(20);
    expect(new Set(equal).size).toBeGreaterThan(150);
    for (const t of equal) expect(t - end).toBeLessThan(1800_000);
    expect(new Set(none)).toEqual(new Set([end]));
  });

  it('the spread after a window never reaches into the next one, for any policy, session and time', () => {
    fc.assert(
      fc.property(
        rulesArb({ quiet: true }),
        sessionIdArb,
        attemptArb,
        instantArb,
        fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
        (rules, id, n, from, recipientZone) => {
          // Act
          const at = nextAttemptAt(rules, id, n, from, recipientZone);
          // Assess
          const zone = effectiveZone(rules.quietHours!, recipientZone);
          expect(inQuietHours(at, rules.quietHours!, zone), `${at.toISOString()} in ${zone}`).toBe(false);
          expect(at.getTime()).toBeGreaterThanOrEqual(from.getTime() + delaySeconds(rules, id, n) * 1000);
        },
      ),
      RUNS,
    );
  });

  it('the recipient zone wins over the policy zone', () => {
    // Prepare: 22:00–07:00 in Europe/Paris for the policy; the recipient lives in Kolkata (UTC+5:30).
    const quiet: QuietHours = { start: '22:00', end: '07:00', timezone: 'Europe/Paris' };
    const at = new Date('2026-06-15T20:00:00Z'); // 22:00 in Paris (quiet), 01:30 in Kolkata (quiet)
    const atNoon = new Date('2026-06-15T10:00:00Z'); // 12:00 in Paris, 15:30 in Kolkata
    const lateParis = new Date('2026-06-15T19:00:00Z'); // 21:00 in Paris (not quiet), 00:30 in Kolkata
    // Act
    const forRecipient = outOfQuietHours(at, quiet, 'Asia/Kolkata');
    const forPolicy = outOfQuietHours(at, quiet);
    const lateForRecipient = outOfQuietHours(lateParis, quiet, 'Asia/Kolkata');
    // Assess
    expect(forRecipient.toISOString()).toBe('2026-06-16T01:30:00.000Z'); // 07:00 in Kolkata
    expect(forPolicy.toISOString()).toBe('2026-06-16T05:00:00.000Z'); // 07:00 in Paris (CEST)
    expect(lateForRecipient.toISOString()).toBe('2026-06-16T01:30:00.000Z');
    expect(outOfQuietHours(atNoon, quiet, 'Asia/Kolkata')).toEqual(atNoon);
  });

  it('an invalid recipient zone falls back to the policy zone; start = end means no quiet hours', () => {
    // Prepare
    const quiet: QuietHours = { start: '22:00', end: '07:00', timezone: 'America/New_York' };
    const at = new Date('2026-01-15T04:00:00Z'); // 23:00 in New York (EST)
    // Act
    const moved = outOfQuietHours(at, quiet, 'Mars/Olympus_Mons');
    const never = outOfQuietHours(at, { ...quiet, end: '22:00' });
    // Assess
    expect(moved.toISOString()).toBe('2026-01-15T12:00:00.000Z'); // 07:00 EST
    expect(never).toEqual(at);
  });

  it('a window across a DST change ends at the wall-clock end, not a fixed number of hours later', () => {
    // Prepare: Paris springs forward on 2026-03-29 at 02:00 → 03:00, and falls back on 2026-10-25.
    const quiet: QuietHours = { start: '22:00', end: '07:00', timezone: 'Europe/Paris' };
    // Act
    const spring = outOfQuietHours(new Date('2026-03-28T22:00:00Z'), quiet); // 23:00 CET
    const autumn = outOfQuietHours(new Date('2026-10-24T21:00:00Z'), quiet); // 23:00 CEST
    // Assess
    expect(spring.toISOString()).toBe('2026-03-29T05:00:00.000Z'); // 07:00 CEST
    expect(autumn.toISOString()).toBe('2026-10-25T06:00:00.000Z'); // 07:00 CET
  });
});
