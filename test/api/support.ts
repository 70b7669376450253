// Helpers for the admin API tests: an isolated context on the emulators, the local HTTP server in front
// of it, a small HTTP client, and a record of which (route, status) pairs the tests have seen, so a test
// can assert that every route of the table was exercised with its success and each of its errors.
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import { type ApiServerOptions, startApiServer } from '../../local/http-server.ts';
import { ProblemSchema, RESPONSES } from '../../shared/api/responses.ts';
import type { ApiFunctionId } from '../../shared/api/routes.ts';
import { ROUTES, type RouteSpec } from '../../shared/api/routes.ts';
import type { AppContext, Clock } from '../../shared/context.ts';
import { describeIssues, safeParse } from '../../shared/schema.ts';
import { createTestContext } from '../support/context.ts';

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly text: string;
}

export interface CallOptions {
  readonly body?: unknown;
  /** Sent as is (no JSON encoding, no content-type unless given). */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
}

/** Finds the route a request will hit, the way the router does (literal segments first). */
export function routeFor(method: string, path: string): RouteSpec | undefined {
  const parts = path.split('?')[0]!.split('/');
  const candidates = ROUTES.filter((r) => {
    const segs = r.path.split('/');
    return (
      r.method === method &&
      segs.length === parts.length &&
      segs.every((s, i) => s.startsWith('{') || s === parts[i])
    );
  });
  const literals = (r: RouteSpec) => r.path.split('/').filter((s) => !s.startsWith('{')).length;
  return candidates.sort((a, b) => literals(b) - literals(a))[0];
}

export class Coverage {
  readonly seen = new Map<string, Set<number>>();

  record(method: string, path: string, status: number): void {
    const route = routeFor(method, path);
    if (!route) return;
    const set = this.seen.get(route.id) ?? new Set<number>();
    set.add(status);
    this.seen.set(route.id, set);
  }

  /** Every route's success statuses and declared error statuses that no test produced. */
  missing(routes: readonly RouteSpec[] = ROUTES): string[] {
    const out: string[] = [];
    for (const r of routes) {
      const seen = this.seen.get(r.id) ?? new Set<number>();
      for (const status of [...r.responses.map((x) => x.status), ...r.errors]) {
        if (!seen.has(status)) out.push(`${r.method} ${r.path} → ${status}`);
      }
    }
    return out;
  }
}

export interface TestApi {
  readonly ctx: AppContext;
  /**
   * The context a function serves its routes with (its own clients and key): a test that injects faults into
   * what a route does injects them here, not into the operator's `ctx`.
   */
  as(fn: ApiFunctionId): AppContext;
  readonly url: string;
  readonly coverage: Coverage;
  call(method: string, path: string, options?: CallOptions): Promise<ApiResponse>;
  /** Waits for every run started with run now (202) to end with its record. */
  runsSettled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Every answer is checked against the contract on the way: a problem document for 4xx/5xx, and for a
 * success the response schema the route table (and so the OpenAPI document) declares for that status.
 */
function assertShape(method: string, path: string, res: ApiResponse): void {
  const route = routeFor(method, path);
  const declared = route?.responses.find((r) => r.status === res.status);
  if (declared) {
    expect(res.headers.get('content-type')).toBe('application/json');
    const parsed = safeParse(RESPONSES[declared.schema], res.body);
    expect(
      parsed.success,
      `${method} ${path} ${res.status}: ${parsed.success ? '' : describeIssues(parsed.issues)}`,
    ).toBe(true);
  } else {
    expect(res.headers.get('content-type'), `${method} ${path} → ${res.status}: ${res.text}`).toBe(
      'application/problem+json',
    );
    expect(safeParse(ProblemSchema, res.body).success).toBe(true);
    expect((res.body as { status: number }).status).toBe(res.status);
  }
  expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(500 + (path.endsWith('/readyz') ? 4 : 0));
}

/** The local server with each route served by its function's own context, judged by local IAM. */
export async function startTestApi(options: { clock?: Clock; shards?: number } = {}): Promise<TestApi> {
  const { ctx, ctxFor, identity } = await createTestContext(options);
  return serveTestApi(ctx, new Coverage(), { ctxFor, identity });
}

/**
 * The local server over a given context (a broken one, to see a 503), recording into `coverage`; with
 * `functions`, each route runs under its function's identity instead.
 */
export async function serveTestApi(
  ctx: AppContext,
  coverage: Coverage,
  functions?: ApiServerOptions['functions'],
): Promise<TestApi> {
  const server = await startApiServer({ ctx, port: 0, ...(functions ? { functions } : {}) });
  return {
    ctx,
    as: (fn) => functions?.ctxFor(fn) ?? ctx,
    url: server.url,
    coverage,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      let body: string | undefined;
      if (opts.rawBody !== undefined) body = opts.rawBody;
      else if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${server.url}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      const out = { status: res.status, headers: res.headers, body: parsed, text };
      assertShape(method, path, out);
      coverage.record(method, path, res.status);
      return out;
    },
    runsSettled: () => server.runsSettled(),
    stop: () => server.stop(),
  };
}

/** Every item of the test's own tables (scans are fine in tests), sorted, for before/after comparisons. */
export async function snapshotTables(ctx: AppContext): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [name, table] of Object.entries(ctx.tables)) {
    const items: unknown[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await ctx.ddb.send(
        new ScanCommand({ TableName: table, ExclusiveStartKey: startKey, ConsistentRead: true }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    out[name] = items.map((i) => JSON.stringify(i)).sort();
  }
  return out;
}

export function body<T = Record<string, unknown>>(res: ApiResponse): T {
  return res.body as T;
}
