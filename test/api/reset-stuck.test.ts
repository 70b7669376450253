// reset-stuck is an emergency tool: without `dryRun: false` it changes nothing and lists what it would
// reset; with it, the listed sessions are timed out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../support/context.ts';
import { body, snapshotTables, startTestApi, type TestApi } from './support.ts';

const clock = manualClock('2026-03-02T10:00:00.000Z');
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ clock: clock.clock });
  for (const [id, minutes] of [
    ['old-1', 120],
    ['old-2', 90],
    ['young', 10],
  ] as const) {
    const started = new Date(clock.clock().getTime() - minutes * 60_000).toISOString();
    await api.call('POST', '/v1/sessions', {
      body: { sessionId: id, kind: 'upload', status: 'processing', processingStartedAt: started },
    });
  }
});

afterAll(async () => {
  await api.stop();
});

describe('POST /v1/sessions/reset-stuck', () => {
  it('without dryRun in the body changes nothing and lists the matches', async () => {
    // Prepare
    const before = await snapshotTables(api.ctx);
    // Act
    const res = await api.call('POST', '/v1/sessions/reset-stuck', { body: { olderThanMinutes: 60 } });
    // Assess
    expect(res.status).toBe(200);
    expect(body(res).dryRun).toBe(true);
    expect(body(res).changed).toBe(0);
    expect(
      body<{ matched: Array<{ sessionId: string }> }>(res)
        .matched.map((m) => m.sessionId)
        .sort(),
    ).toEqual(['old-1', 'old-2']);
    expect(await snapshotTables(api.ctx)).toEqual(before);
  });

  it('with dryRun: false times out exactly the listed sessions', async () => {
    // Act
    const res = await api.call('POST', '/v1/sessions/reset-stuck', {
      body: { olderThanMinutes: 60, dryRun: false },
    });
    const statuses = await Promise.all(
      ['old-1', 'old-2', 'young'].map(async (id) => body(await api.call('GET', `/v1/sessions/${id}`)).status),
    );
    // Assess
    expect(body(res)).toMatchObject({ dryRun: false, changed: 2 });
    expect(statuses).toEqual(['timed_out', 'timed_out', 'processing']);
  });
});
