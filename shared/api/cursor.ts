// Opaque pagination cursors. A cursor carries a DynamoDB start key, the list it belongs to and a digest
// of the query it continues, behind an integrity tag. Decoding is strict: a cursor that was corrupted,
// edited, or taken from another list or query is a 400, never a DynamoDB error. Start keys are checked
// against a per-list schema too, so even a well-formed forgery can only start a list the caller may read
// anyway at another place.
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { type Infer, type Schema, safeParse, text } from '../schema.ts';
import { HttpProblem, problem } from './problem.ts';

const Envelope = v.strictObject({
  v: v.literal(1),
  /** Which list. */
  l: text(1, 32),
  /** Digest of the query the cursor continues. */
  q: v.pipe(v.string(), v.length(16)),
  /** Position (list-specific). */
  p: v.unknown(),
  /** Integrity tag over everything above. */
  t: v.pipe(v.string(), v.length(22)),
});

function digest(text: string, length: number): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, length);
}

/** A stable digest of the query parameters that shape a list (not `limit`, not `cursor`). */
function queryDigest(query: Record<string, unknown>): string {
  const keys = Object.keys(query)
    .filter((k) => k !== 'limit' && k !== 'cursor' && query[k] !== undefined)
    .sort();
  return digest(JSON.stringify(keys.map((k) => [k, query[k]])), 16);
}

function tag(list: string, q: string, position: unknown): string {
  return digest(`session-recovery-cursor/1\n${list}\n${q}\n${JSON.stringify(position)}`, 22);
}

export function encodeCursor(list: string, query: Record<string, unknown>, position: unknown): string {
  const q = queryDigest(query);
  const envelope = { v: 1, l: list, q, p: position, t: tag(list, q, position) };
  return Buffer.from(JSON.stringify(envelope), 'utf8').toString('base64url');
}

function invalid(message: string): HttpProblem {
  return new HttpProblem(
    problem(400, 'validation', 'the cursor is not valid for this list', [{ path: 'query.cursor', message }]),
  );
}

/** The position a cursor holds, or a 400 problem when it is not one this list handed out for this query. */
export function decodeCursor<T>(
  raw: string,
  list: string,
  query: Record<string, unknown>,
  position: Schema<T>,
): T {
  let envelope: Infer<typeof Envelope>;
  try {
    const parsed = safeParse(Envelope, JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
    if (!parsed.success) throw invalid('not a cursor of this API');
    envelope = parsed.data;
  } catch (error) {
    if (error instanceof HttpProblem) throw error;
    throw invalid('not a cursor of this API');
  }
  if (envelope.t !== tag(envelope.l, envelope.q, envelope.p)) throw invalid('the cursor was altered');
  if (envelope.l !== list) throw invalid('the cursor belongs to another list');
  if (envelope.q !== queryDigest(query)) throw invalid('the cursor belongs to a query with other filters');
  const parsed = safeParse(position, envelope.p);
  if (!parsed.success) throw invalid('the cursor holds an invalid position');
  return parsed.data;
}
