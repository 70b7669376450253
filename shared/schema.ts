// Every schema the Lambdas run is a valibot schema. Valibot builds a schema as a plain object and
// tree-shakes to the checks in use: the sweep's schemas cost under 3 ms of its cold start, against
// 11 ms with zod/mini and about 30 ms with classic zod, which was the largest item of every cold
// start (docs/benchmarks.md, "Bundles and cold start").
//
// A module's schemas are built when the module is imported, used or not (esbuild cannot prove a call
// into another module pure), so schemas live in modules split by who needs them.
//
// This module is the one seam between the code and the library: the few shapes that recur, and `parse` /
// `safeParse` that report issues as plain `{ path, message }` so callers (API problems, config errors,
// run records) never depend on the library's issue format.
import * as v from 'valibot';

/** Any schema; `T` is what a successful parse returns. */
export type Schema<T = unknown> = v.GenericSchema<unknown, T>;
export type Infer<S extends v.GenericSchema> = v.InferOutput<S>;

/** A failed check: where (keys from the root) and what. `unknownKey` marks a key a strict object refuses. */
export interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly unknownKey?: true;
}

export type Parsed<T> =
  | { readonly success: true; readonly data: T }
  | { readonly success: false; readonly issues: Issue[] };

function issuesOf(issues: readonly v.BaseIssue<unknown>[]): Issue[] {
  return issues.map((issue) => {
    const path = (issue.path ?? []).map((item) => item.key as PropertyKey);
    return issue.type === 'strict_object' && issue.expected === 'never'
      ? { path, message: 'unknown field', unknownKey: true }
      : { path, message: issue.message };
  });
}

/** A field's checks stop at its first failure: one issue per bad field, as a caller wants to read them. */
const CONFIG = { abortPipeEarly: true } as const;

export function safeParse<S extends v.GenericSchema>(schema: S, input: unknown): Parsed<v.InferOutput<S>> {
  const result = v.safeParse(schema, input, CONFIG);
  return result.success
    ? { success: true, data: result.output }
    : { success: false, issues: issuesOf(result.issues) };
}

/** Thrown by `parse`: a value that does not satisfy its schema. */
export class SchemaError extends Error {
  constructor(readonly issues: Issue[]) {
    super(`invalid value: ${describeIssues(issues)}`);
    this.name = 'SchemaError';
  }
}

export function parse<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const result = safeParse(schema, input);
  if (!result.success) throw new SchemaError(result.issues);
  return result.data;
}

/** The parsed value, or `undefined` when the input does not satisfy the schema. */
export function tryParse<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> | undefined {
  const result = v.safeParse(schema, input, CONFIG);
  return result.success ? result.output : undefined;
}

/** "path: message; …" of issues, for one-line errors (config, env, events). */
export function describeIssues(issues: readonly Issue[], root = '(value)'): string {
  return issues.map((i) => `${i.path.map(String).join('.') || root}: ${i.message}`).join('; ');
}

/** A string of `min` to `max` characters (no upper bound when `max` is omitted). */
export function text(min = 0, max?: number): v.GenericSchema<string, string> {
  return max === undefined
    ? v.pipe(v.string(), v.minLength(min))
    : v.pipe(v.string(), v.minLength(min), v.maxLength(max));
}

/** `base` held within [min, max]; an omitted bound is left out (and out of the OpenAPI document). */
function bounded(
  base: v.GenericSchema<number, number>,
  min: number | undefined,
  max: number | undefined,
): v.GenericSchema<number, number> {
  if (min !== undefined && max !== undefined) return v.pipe(base, v.minValue(min), v.maxValue(max));
  if (min !== undefined) return v.pipe(base, v.minValue(min));
  if (max !== undefined) return v.pipe(base, v.maxValue(max));
  return base;
}

/** An integer within [min, max] (unbounded when omitted; every input integer has bounds). */
export function integer(min?: number, max?: number): v.GenericSchema<number, number> {
  return bounded(v.pipe(v.number(), v.integer()), min, max);
}

/** A finite number (valibot's `number` alone lets Infinity through) within [min, max]. */
export function finiteNumber(min?: number, max?: number): v.GenericSchema<number, number> {
  return bounded(v.pipe(v.number(), v.finite()), min, max);
}

/** An ISO 8601 timestamp with a `T`, seconds and an offset (`Z` or `+02:00`), as every stored time is. */
export const isoDateTime = v.pipe(
  v.string(),
  v.regex(
    /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/,
    'an ISO 8601 date-time with an offset, e.g. 2026-01-31T09:30:00Z',
  ),
  v.check((s) => !Number.isNaN(Date.parse(s)), 'not a real date'),
);

/** A phone number in E.164 form. */
export const e164 = v.pipe(v.string(), v.regex(/^\+[1-9]\d{6,14}$/, 'E.164, e.g. +14155550100'));

/** An absolute http(s) URL. */
export function httpUrl(maxLength = 2048) {
  return v.pipe(
    v.string(),
    v.maxLength(maxLength),
    v.url('an absolute URL'),
    v.check((s) => /^https?:\/\//i.test(s), 'an http(s) URL'),
  );
}

/** An email address. */
export const email = v.pipe(v.string(), v.email('an email address'));

/**
 * `schema`'s value when the input fits it, `undefined` when it is absent or does not: for fields a reader
 * can do without.
 */
export function lenient<S extends v.GenericSchema>(schema: S) {
  return v.fallback(v.optional(schema), undefined);
}

/** A schema with a description for the OpenAPI document. */
export function described<S extends v.GenericSchema>(schema: S, description: string) {
  return v.pipe(schema, v.description(description));
}
