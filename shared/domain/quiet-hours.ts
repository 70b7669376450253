// A policy's quiet hours: a daily window in a time zone. Its own module so the channel message contract
// (shared/messages.ts, in every bundle that reads a queue) carries it without the whole retry policy.
import * as v from 'valibot';
import type { Infer } from '../schema.ts';
import { isValidTimeZone } from './time-zone.ts';

const HHMM = v.pipe(v.string(), v.regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour'));

export const QuietHoursSchema = v.strictObject({
  start: HHMM,
  end: HHMM,
  timezone: v.optional(
    v.pipe(v.string(), v.check(isValidTimeZone, 'an IANA time zone such as Europe/Paris')),
    'UTC',
  ),
});
export type QuietHours = Infer<typeof QuietHoursSchema>;
