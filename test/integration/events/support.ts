// Fixtures of #14 (events/*.json, in the providers' own shapes) and helpers to vary them per test.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are provider JSON that each test reshapes in place
export type Json = Record<string, any>;

export function fixture(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../../../events/${name}`, import.meta.url), 'utf8')) as Json;
}

export const unique = () => randomBytes(5).toString('hex');

/** A Stripe fixture's EventBridge envelope with fresh ids (event, session) so tests do not collide. */
export function stripeFixture(
  name: string,
  change: { eventId?: string; objectId?: string; recoveredFrom?: string; created?: number } = {},
): Json {
  const e = fixture(name);
  const d = e.detail;
  if (change.eventId) d.id = change.eventId;
  if (change.objectId) d.data.object.id = change.objectId;
  if (change.recoveredFrom !== undefined) d.data.object.recovered_from = change.recoveredFrom;
  if (change.created !== undefined) d.created = change.created;
  return e;
}

export const epoch = (iso: string) => Math.floor(Date.parse(iso) / 1000);
