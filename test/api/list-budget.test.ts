// List responses stay under Lambda's 6 MB response limit whatever the items hold: a page is trimmed by
// bytes (fewer items than asked, and a cursor that continues right after the last one given), and
// following the cursors hands out every item exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_BUDGET_BYTES } from '../../shared/api/results.ts';
import { body, startTestApi, type TestApi } from './support.ts';

let api: TestApi;

interface Page {
  items: Array<{ sessionId: string }>;
  nextCursor: string | null;
}

/** Lambda's limit on a synchronous response payload (API Gateway's proxy answer included). */
const LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024;
const SESSIONS = 100;

beforeAll(async () => {
  api = await startTestApi();
  // 100 sessions with 60 KB of metadata each: about 6 MB of items, more than one Lambda answer can carry.
  const filler = 'x'.repeat(60 * 1024);
  for (let i = 0; i < SESSIONS; i += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, j) =>
        api.call('POST', '/v1/sessions', {
          body: {
            sessionId: `big-${String(i + j).padStart(3, '0')}`,
            kind: 'bulky',
            status: 'active',
            metadata: { notes: filler },
          },
        }),
      ),
    );
  }
}, 120_000);

afterAll(async () => {
  await api.stop();
});

describe('a list whose items are large', () => {
  it('answers 200 with fewer items and a cursor, and the cursors hand out every session once', async () => {
    // Act
    const pages: Page[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `kind=bulky&limit=100${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await api.call('GET', `/v1/sessions?${query}`);
      expect(res.status).toBe(200);
      // What the Lambda would answer: the body as an escaped string inside the proxy response.
      sizes.push(Buffer.byteLength(JSON.stringify({ statusCode: 200, headers: {}, body: res.text })));
      pages.push(body<Page>(res));
      cursor = body<Page>(res).nextCursor;
    } while (cursor && pages.length < 10);
    // Assess
    const first = pages[0] as Page;
    expect(first.items.length).toBeGreaterThan(0);
    expect(first.items.length).toBeLessThan(SESSIONS);
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(Math.max(...sizes)).toBeLessThan(LAMBDA_RESPONSE_LIMIT);
    expect(Math.max(...sizes)).toBeLessThan(PAGE_BUDGET_BYTES + 64 * 1024);
    const ids = pages.flatMap((p) => p.items.map((s) => s.sessionId));
    expect(ids).toHaveLength(SESSIONS);
    expect(new Set(ids).size).toBe(SESSIONS);
    expect(pages.at(-1)?.nextCursor).toBeNull();
  }, 60_000);
});
