// How long a function keeps a secret it has read: SECRETS_MAX_AGE_SECONDS (default 300), the one bound on how
// late a rotated secret is used. Every secret reader caches through `maxAgeCache`, "not found" included; a
// failed read is not kept, so the next call tries again.
import { optionalEnv } from '../env.ts';
import { describeIssues, integer, numberFromText, safeParse } from '../schema.ts';

export const SECRETS_MAX_AGE_SECONDS = 'SECRETS_MAX_AGE_SECONDS';
export const DEFAULT_SECRETS_MAX_AGE_SECONDS = 300;

/** SECRETS_MAX_AGE_SECONDS, 0..86,400; a bad value fails the cold start. */
export function secretsMaxAge(env: NodeJS.ProcessEnv = process.env): number {
  const raw = optionalEnv(SECRETS_MAX_AGE_SECONDS, env);
  const parsed = safeParse(numberFromText(integer(0, 86_400)), raw ?? DEFAULT_SECRETS_MAX_AGE_SECONDS);
  if (!parsed.success)
    throw new Error(`${SECRETS_MAX_AGE_SECONDS}: ${describeIssues(parsed.issues.slice(0, 1), 'value')}`);
  return parsed.data;
}

/** Milliseconds since the epoch: tests pass a clock they move. */
export type Now = () => number;

/**
 * Wraps a reader so each name's answer (a value or `undefined` for "not found") is kept for at most
 * `maxAgeSeconds`, one read in flight per name; a read that throws is forgotten at once.
 */
export function maxAgeCache(
  read: (name: string) => Promise<string | undefined>,
  maxAgeSeconds: number,
  now: Now = Date.now,
): (name: string) => Promise<string | undefined> {
  const cache = new Map<string, { readonly at: number; readonly answer: Promise<string | undefined> }>();
  return (name) => {
    const kept = cache.get(name);
    if (kept && now() - kept.at < maxAgeSeconds * 1000) return kept.answer;
    const answer = read(name);
    const entry = { at: now(), answer };
    cache.set(name, entry);
    answer.catch(() => {
      if (cache.get(name) === entry) cache.delete(name);
    });
    return answer;
  };
}
