// Opaque pagination cursors. A cursor carries a DynamoDB start key, the list it belongs to and a digest
// of the query it continues, behind an integrity tag: an HMAC-SHA256 under the deployment's cursor key
// (a secret: Secrets Manager in AWS, env or .env locally), so only this deployment can make one. Decoding
// is strict: a cursor that was corrupted, edited, forged, or taken from another list or query is a 400,
// never a DynamoDB error. Start keys are checked against a per-list schema too, so even a cursor signed
// with a leaked key can only start a list the caller may read anyway at another place.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import * as v from 'valibot';
import { type Infer, type Schema, safeParse, text } from '../schema.ts';
import { HttpProblem, problem } from './problem.ts';

/** The shortest cursor key accepted: 32 characters (a generated secret has 64). */
export const MIN_CURSOR_KEY_LENGTH = 32;

const Envelope = v.strictObject({
  v: v.literal(2),
  /** Which list. */
  l: text(1, 32),
  /** Digest of the query the cursor continues. */
  q: v.pipe(v.string(), v.length(16)),
  /** Position (list-specific). */
  p: v.unknown(),
  /** Integrity tag over everything above: 128 bits of HMAC-SHA256, base64url. */
  t: v.pipe(v.string(), v.length(22)),
});

/** A stable digest of the query parameters that shape a list (not `limit`, not `cursor`). */
function queryDigest(query: Record<string, unknown>): string {
  const keys = Object.keys(query)
    .filter((k) => k !== 'limit' && k !== 'cursor' && query[k] !== undefined)
    .sort();
  return createHash('sha256')
    .update(JSON.stringify(keys.map((k) => [k, query[k]])))
    .digest('base64url')
    .slice(0, 16);
}

function tag(key: string, list: string, q: string, position: unknown): string {
  return createHmac('sha256', key)
    .update(`session-recovery-cursor/2\n${list}\n${q}\n${JSON.stringify(position)}`)
    .digest('base64url')
    .slice(0, 22);
}

function sameTag(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function checkKey(key: string): void {
  if (key.length < MIN_CURSOR_KEY_LENGTH)
    throw new Error(`the cursor key must have at least ${MIN_CURSOR_KEY_LENGTH} characters`);
}

export function encodeCursor(
  key: string,
  list: string,
  query: Record<string, unknown>,
  position: unknown,
): string {
  checkKey(key);
  const q = queryDigest(query);
  const envelope = { v: 2, l: list, q, p: position, t: tag(key, list, q, position) };
  return Buffer.from(JSON.stringify(envelope), 'utf8').toString('base64url');
}

function invalid(message: string): HttpProblem {
  return new HttpProblem(
    problem(400, 'validation', 'the cursor is not valid for this list', [{ path: 'query.cursor', message }]),
  );
}

/** The position a cursor holds, or a 400 problem when it is not one this list handed out for this query. */
export function decodeCursor<T>(
  key: string,
  raw: string,
  list: string,
  query: Record<string, unknown>,
  position: Schema<T>,
): T {
  checkKey(key);
  let envelope: Infer<typeof Envelope>;
  try {
    const parsed = safeParse(Envelope, JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
    if (!parsed.success) throw invalid('not a cursor of this API');
    envelope = parsed.data;
  } catch (error) {
    if (error instanceof HttpProblem) throw error;
    throw invalid('not a cursor of this API');
  }
  // An altered cursor and one signed with another key (a rotated one, another deployment's) look the same.
  if (!sameTag(envelope.t, tag(key, envelope.l, envelope.q, envelope.p)))
    throw invalid('the cursor was altered, or was not handed out by this deployment (start the list again)');
  if (envelope.l !== list) throw invalid('the cursor belongs to another list');
  if (envelope.q !== queryDigest(query)) throw invalid('the cursor belongs to a query with other filters');
  const parsed = safeParse(position, envelope.p);
  if (!parsed.success) throw invalid('the cursor holds an invalid position');
  return parsed.data;
}
