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

/** A failed check: where (keys from the root) and what. */
export interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

export type Parsed<T> =
  | { readonly success: true; readonly data: T }
  | { readonly success: false; readonly issues: Issue[] };

/** The fields of an object schema (also behind optional, nullable or a pipe); undefined for other schemas. */
export function objectEntries(schema: unknown): Record<string, v.GenericSchema> | undefined {
  let current = schema as { type?: string; entries?: unknown; wrapped?: unknown } | undefined;
  while (current && !current.entries && current.wrapped) current = current.wrapped as typeof current;
  return current?.entries as Record<string, v.GenericSchema> | undefined;
}

/** The fields of the object schema found by following `keys` from `root` (array items included). */
function entriesAt(root: unknown, keys: readonly PropertyKey[]): Record<string, v.GenericSchema> | undefined {
  let schema = root;
  for (const key of keys) {
    let current = schema as { wrapped?: unknown; item?: unknown; entries?: unknown } | undefined;
    while (current && !current.entries && !current.item && current.wrapped)
      current = current.wrapped as typeof current;
    schema = typeof key === 'number' ? current?.item : objectEntries(current)?.[String(key)];
    if (!schema) return undefined;
  }
  return objectEntries(schema);
}

/**
 * Plain issues, one per field. A strict object reports only its first unknown key; every other unknown
 * key of that object is listed too (the schema's fields are found again along the issue's path).
 */
function issuesOf(root: unknown, issues: readonly v.BaseIssue<unknown>[]): Issue[] {
  const out: Issue[] = [];
  const seen = new Set<string>();
  const add = (issue: Issue) => {
    const key = JSON.stringify(issue.path.map(String));
    if (!seen.has(key)) {
      seen.add(key);
      out.push(issue);
    }
  };
  for (const issue of issues) {
    const items = issue.path ?? [];
    const path = items.map((item) => item.key as PropertyKey);
    if (issue.type !== 'strict_object' || issue.expected !== 'never') {
      add({ path, message: issue.message });
      continue;
    }
    const parent = path.slice(0, -1);
    const object = items.at(-1)?.input;
    const entries = entriesAt(root, parent);
    const unknown =
      entries && object && typeof object === 'object'
        ? Object.keys(object).filter((k) => !Object.hasOwn(entries, k))
        : [path.at(-1)];
    for (const key of unknown) add({ path: [...parent, key as PropertyKey], message: 'unknown field' });
  }
  return out;
}

/** A field's checks stop at its first failure: one issue per bad field, as a caller wants to read them. */
const CONFIG = { abortPipeEarly: true } as const;

export function safeParse<S extends v.GenericSchema>(schema: S, input: unknown): Parsed<v.InferOutput<S>> {
  const result = v.safeParse(schema, input, CONFIG);
  return result.success
    ? { success: true, data: result.output }
    : { success: false, issues: issuesOf(schema, result.issues) };
}

/** Thrown by `parse`: a value that does not satisfy its schema. */
class SchemaError extends Error {
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

/** Whether year-month-day names a day of the calendar (2026-02-30 does not; `Date` would roll it over). */
function isCalendarDay(text: string): boolean {
  const [y, m, d] = [Number(text.slice(0, 4)), Number(text.slice(5, 7)), Number(text.slice(8, 10))];
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** An ISO 8601 timestamp with a `T`, seconds and an offset (`Z` or `+02:00`), as every stored time is. */
export const isoDateTime = v.pipe(
  v.string(),
  v.regex(
    /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/,
    'an ISO 8601 date-time with an offset, e.g. 2026-01-31T09:30:00Z',
  ),
  v.check(isCalendarDay, 'not a day of the calendar'),
);

/** The UTC years every stored time stays within, whatever a later delay (at most 30 days) adds to it. */
const FIRST_YEAR = 1;
const LAST_YEAR = 9998;

function withinStoredYears(text: string): boolean {
  const year = new Date(Date.parse(text)).getUTCFullYear();
  return year >= FIRST_YEAR && year <= LAST_YEAR;
}

/**
 * A timestamp from outside (API, CLI, event): an `isoDateTime` whose instant, once the offset is applied,
 * falls in years 0001–9998. `9999-12-31T23:59:59-05:00` is year 10000 in UTC and would be stored as
 * `+010000-…`, which no reader accepts; the year of slack keeps every stored time a 4-digit year.
 */
export const inputDateTime = v.pipe(
  isoDateTime,
  v.check(withinStoredYears, `between years ${FIRST_YEAR} and ${LAST_YEAR} in UTC`),
);

/** A phone number in E.164 form. */
export const e164 = v.pipe(v.string(), v.regex(/^\+[1-9]\d{6,14}$/, 'E.164, e.g. +14155550100'));

/** An absolute http(s) URL, as written: no spaces, tabs or line breaks anywhere in it. */
export function httpUrl(maxLength = 2048) {
  return v.pipe(
    v.string(),
    v.maxLength(maxLength),
    v.regex(/^https?:\/\/\S+$/i, 'an http(s) URL without spaces'),
    v.url('an absolute URL'),
  );
}

/**
 * An email address. The pattern the service has always applied (zod's): wider than valibot's own
 * `email`, which refuses `o'brien@example.com` and `a@xn--mller-kva.de`; stored sessions carry such
 * addresses, and a narrower check would make them unreadable.
 */
export const email = v.pipe(
  v.string(),
  v.regex(
    /^(?:[A-Za-z0-9_'+-]+\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$/,
    'an email address',
  ),
);

function isObject(input: unknown): input is Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

/**
 * A JSON object, kept exactly as given (every key, values unchecked). Not valibot's `record`: it takes an
 * array for an object and silently drops the keys `constructor` and `prototype`, which a product may use
 * in the metadata it attaches, and a session is read and written back whole.
 */
export const jsonObject = v.custom<Record<string, unknown>>(isObject, 'a JSON object');

/** Keys an object from outside may not use: JavaScript would read them as the object's own machinery. */
const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'];

/** An object (not an array) whose values all satisfy `value`; reserved keys are refused, not dropped. */
export function objectOf<S extends v.GenericSchema>(value: S) {
  return v.pipe(
    jsonObject,
    v.check(
      (o) => !RESERVED_KEYS.some((k) => Object.hasOwn(o, k)),
      'keys __proto__, constructor and prototype are not allowed',
    ),
    v.record(v.string(), value),
  );
}

/** A number given as a number or as text (an env var, a `-c` value, a CLI flag), then checked by `schema`. */
export function numberFromText(schema: v.GenericSchema<number, number>) {
  return v.pipe(v.union([v.string(), v.number()]), v.transform(Number), schema);
}

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
