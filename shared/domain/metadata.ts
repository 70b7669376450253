// What a product may attach to a session and where its links may point, checked once for every entry
// point (API, EventBridge, CLI): JSON that DynamoDB can store, and http(s) links only.
import * as v from 'valibot';
import { described, httpUrl, jsonObject } from '../schema.ts';

// JSON that DynamoDB can store: the document client refuses numbers beyond 2^53 and DynamoDB refuses
// magnitudes below 1e-130 and maps nested deeper than 32 levels. Checked here so such input is a 400,
// never a failed write.

const MAX_METADATA_DEPTH = 16;

function jsonProblem(value: unknown, depth: number): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'numbers must be finite';
    if (Math.abs(value) > Number.MAX_SAFE_INTEGER) return 'numbers must be within ±2^53';
    if (value !== 0 && Math.abs(value) < 1e-130) return 'numbers must be 0 or at least 1e-130 in magnitude';
    return undefined;
  }
  if (depth >= MAX_METADATA_DEPTH) return `nested deeper than ${MAX_METADATA_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = jsonProblem(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '' || key === '__proto__') return `keys must be non-empty and not __proto__`;
      const problem = jsonProblem(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  return 'not a JSON value';
}

/** Free-form product data kept on the session. */
export const MetadataSchema = described(
  v.pipe(
    jsonObject,
    v.check((o) => Object.keys(o).every((k) => k.length <= 256), 'keys are at most 256 characters'),
    v.rawCheck(({ dataset, addIssue }) => {
      const problem = dataset.typed ? jsonProblem(dataset.value, 1) : undefined;
      if (problem) addIssue({ message: problem });
    }),
  ),
  'Free-form JSON object (numbers within ±2^53, at most 16 levels deep).',
);

/** Links end up in emails and chat messages: only http(s). */
export const HttpUrl = httpUrl();
