// Processing deadlines: bigger sessions get longer, up to a cap, per kind.
import * as v from 'valibot';
import { finiteNumber, type Infer } from '../schema.ts';

const Positive = v.pipe(finiteNumber(), v.gtValue(0));

export const TimeoutRuleSchema = v.pipe(
  v.object({
    baseMinutes: Positive,
    perMbMinutes: finiteNumber(0),
    maxMinutes: Positive,
    warnMinutes: Positive,
  }),
  v.check((r) => r.maxMinutes >= r.baseMinutes, 'maxMinutes must be ≥ baseMinutes'),
);
export type TimeoutRule = Infer<typeof TimeoutRuleSchema>;

/** Design defaults: 30 min base, warn at 15 min; size adds 1 min per MB up to 2 h. */
export const DEFAULT_TIMEOUT_RULE: TimeoutRule = {
  baseMinutes: 30,
  perMbMinutes: 1,
  maxMinutes: 120,
  warnMinutes: 15,
};

const MB = 1024 * 1024;

export function deadlineMinutes(rule: TimeoutRule, sizeBytes = 0): number {
  const raw = rule.baseMinutes + rule.perMbMinutes * (sizeBytes / MB);
  return Math.min(Math.max(raw, rule.baseMinutes), rule.maxMinutes);
}

export interface Deadline {
  readonly deadlineAt: string;
  readonly warnAt: string;
}

export function deadlineFor(rule: TimeoutRule, startedAt: Date, sizeBytes = 0): Deadline {
  const minutes = deadlineMinutes(rule, sizeBytes);
  const warn = Math.min(rule.warnMinutes, minutes);
  return {
    deadlineAt: new Date(startedAt.getTime() + minutes * 60_000).toISOString(),
    warnAt: new Date(startedAt.getTime() + warn * 60_000).toISOString(),
  };
}
