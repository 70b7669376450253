/// <reference lib="dom" />
// Calls to the admin API from the page: same origin (npm start's API, or the console's signing proxy).
// A problem+json answer becomes an ApiError with its field messages; a network failure says so too.

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: readonly FieldError[],
    readonly body?: unknown,
  ) {
    super(`${status} ${title}: ${detail}`);
    this.name = 'ApiError';
  }
}

export interface ApiResult<T> {
  readonly status: number;
  readonly body: T;
  readonly etag: string | null;
}

export async function call<T>(
  method: string,
  path: string,
  options: { body?: unknown; ifMatch?: string | number } = {},
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.ifMatch !== undefined) headers['if-match'] = `"${options.ifMatch}"`;
  let res: Response;
  try {
    res = await fetch(`/v1${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
    });
  } catch (error) {
    throw new ApiError(0, 'No answer', `the API did not answer (${String(error)})`, []);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  // readyz answers 503 with a report, not a problem.
  const isProblem = (res.headers.get('content-type') ?? '').includes('problem+json');
  if (!res.ok && (isProblem || res.status !== 503)) {
    const p = (typeof body === 'object' && body !== null ? body : {}) as Partial<{
      title: string;
      detail: string;
      errors: FieldError[];
    }>;
    throw new ApiError(
      res.status,
      p.title ?? res.statusText,
      p.detail ?? (typeof body === 'string' && body ? body : 'no detail given'),
      Array.isArray(p.errors) ? p.errors : [],
      body,
    );
  }
  return { status: res.status, body: body as T, etag: res.headers.get('etag') };
}

export const get = <T>(path: string) => call<T>('GET', path).then((r) => r.body);

/** Every page of a list, up to `maxPages`. */
export async function all<T>(path: string, maxPages = 10): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page: { items: T[]; nextCursor: string | null } = await get(
      `${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return items;
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
