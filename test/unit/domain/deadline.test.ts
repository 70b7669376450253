// Processing deadlines: a bigger session gets longer, never less than the base, never more than the cap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIMEOUT_RULE,
  deadlineFor,
  deadlineMinutes,
  type TimeoutRule,
  TimeoutRuleSchema,
} from '../../../shared/domain/deadline.ts';
import { parse } from '../../../shared/schema.ts';

const MB = 1024 * 1024;
const START = new Date('2026-03-02T10:00:00.000Z');

/** Any rule an operator can configure (every value passes TimeoutRuleSchema). */
const ruleArb: fc.Arbitrary<TimeoutRule> = fc
  .record({
    a: fc.integer({ min: 1, max: 7 * 1440 }),
    b: fc.integer({ min: 1, max: 7 * 1440 }),
    perMbMinutes: fc.double({ min: 0, max: 60, noNaN: true }),
    warnMinutes: fc.integer({ min: 1, max: 7 * 1440 }),
  })
  .map(({ a, b, perMbMinutes, warnMinutes }) =>
    parse(TimeoutRuleSchema, {
      baseMinutes: Math.min(a, b),
      maxMinutes: Math.max(a, b),
      perMbMinutes,
      warnMinutes,
    }),
  );
const sizeArb = fc.integer({ min: 0, max: 1e13 });

describe('deadline', () => {
  it('with the defaults: 30 min base, +1 min per MB, capped at 2 h, warning at 15 min', () => {
    // Act
    const small = deadlineFor(DEFAULT_TIMEOUT_RULE, START);
    const tenMb = deadlineFor(DEFAULT_TIMEOUT_RULE, START, 10 * MB);
    const huge = deadlineFor(DEFAULT_TIMEOUT_RULE, START, 1024 * MB);
    // Assess
    expect(small).toEqual({ deadlineAt: '2026-03-02T10:30:00.000Z', warnAt: '2026-03-02T10:15:00.000Z' });
    expect(tenMb.deadlineAt).toBe('2026-03-02T10:40:00.000Z');
    expect(huge).toEqual({ deadlineAt: '2026-03-02T12:00:00.000Z', warnAt: '2026-03-02T10:15:00.000Z' });
  });

  it('a warning later than the deadline is brought back to the deadline', () => {
    // Prepare
    const rule: TimeoutRule = { baseMinutes: 10, perMbMinutes: 0, maxMinutes: 10, warnMinutes: 45 };
    // Act
    const d = deadlineFor(rule, START);
    // Assess
    expect(d.warnAt).toBe(d.deadlineAt);
  });

  it('grows with size, never below the base, never above the cap (any rule, any size)', () => {
    fc.assert(
      fc.property(ruleArb, sizeArb, sizeArb, (rule, x, y) => {
        // Prepare
        const [small, big] = x <= y ? [x, y] : [y, x];
        // Act
        const forSmall = deadlineMinutes(rule, small);
        const forBig = deadlineMinutes(rule, big);
        // Assess
        expect(forBig).toBeGreaterThanOrEqual(forSmall);
        expect(forSmall).toBeGreaterThanOrEqual(rule.baseMinutes);
        expect(forBig).toBeLessThanOrEqual(rule.maxMinutes);
        expect(deadlineMinutes(rule)).toBe(rule.baseMinutes);
      }),
      { numRuns: 300 },
    );
  });

  it('strictly grows with size below the cap when size counts at all', () => {
    fc.assert(
      fc.property(
        ruleArb.filter((r) => r.perMbMinutes >= 0.01 && r.maxMinutes > r.baseMinutes + 1),
        (rule) => {
          // Prepare: sizes whose raw deadline stays under the cap
          const roomMb = (rule.maxMinutes - rule.baseMinutes) / rule.perMbMinutes;
          const small = Math.floor((roomMb / 4) * MB);
          const big = Math.floor((roomMb / 2) * MB);
          // Act + Assess
          expect(deadlineMinutes(rule, big)).toBeGreaterThan(deadlineMinutes(rule, small));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('warnAt ≤ deadlineAt, both after the start, the deadline exactly its minutes after it', () => {
    fc.assert(
      fc.property(
        ruleArb,
        sizeArb,
        fc.date({
          min: new Date('2020-01-01T00:00:00Z'),
          max: new Date('2035-01-01T00:00:00Z'),
          noInvalidDate: true,
        }),
        (rule, size, start) => {
          // Act
          const d = deadlineFor(rule, start, size);
          // Assess
          const deadline = new Date(d.deadlineAt).getTime();
          const warn = new Date(d.warnAt).getTime();
          expect(warn).toBeLessThanOrEqual(deadline);
          expect(warn).toBeGreaterThan(start.getTime());
          expect(Math.abs(deadline - start.getTime() - deadlineMinutes(rule, size) * 60_000)).toBeLessThan(1);
        },
      ),
      { numRuns: 300 },
    );
  });
});
