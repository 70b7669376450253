// Finding a customer's sessions pages through `byRecipient`. Its sort key must not move when a session is
// written (every send stamps the session): a walk that pages past a session's old position while that
// session is written would otherwise never see it (#18 item 6).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../support/context.ts';
import { body, startTestApi, type TestApi } from './support.ts';

const clock = manualClock('2026-03-02T10:00:00.000Z');
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ clock: clock.clock });
});

afterAll(async () => {
  await api.stop();
});

interface Page {
  items: Array<{ sessionId: string }>;
  nextCursor: string | null;
}

describe('GET /v1/sessions?recipient= followed page by page', () => {
  it('a session written in the middle of the walk is still found, once', async () => {
    // Prepare: three sessions of one customer, registered a minute apart.
    for (const id of ['walk-1', 'walk-2', 'walk-3']) {
      const res = await api.call('POST', '/v1/sessions', {
        body: { sessionId: id, kind: 'checkout', status: 'active', contact: { email: 'walker@example.com' } },
      });
      expect(res.status, res.text).toBe(201);
      clock.advance(60_000);
    }
    const pages: Page[] = [];
    const first = await api.call('GET', '/v1/sessions?recipient=walker@example.com&limit=1');
    pages.push(body<Page>(first));
    // Act: the oldest, not yet seen, is written (as a send's stamp or the product's update would).
    clock.advance(60_000);
    const patched = await api.call('PATCH', '/v1/sessions/walk-1', {
      body: { metadata: { step: 'payment' } },
    });
    expect(patched.status, patched.text).toBe(200);
    let cursor = pages[0]!.nextCursor;
    while (cursor && pages.length < 10) {
      const res = await api.call(
        'GET',
        `/v1/sessions?recipient=walker@example.com&limit=1&cursor=${encodeURIComponent(cursor)}`,
      );
      expect(res.status, res.text).toBe(200);
      pages.push(body<Page>(res));
      cursor = body<Page>(res).nextCursor;
    }
    // Assess: every session once, most recently registered first.
    expect(pages.flatMap((p) => p.items.map((s) => s.sessionId))).toEqual(['walk-3', 'walk-2', 'walk-1']);
  });
});
