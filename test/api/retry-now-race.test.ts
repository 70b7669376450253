// retry-now and the sweep racing on the same due session make exactly one attempt: both go through the
// same conditional claim, so whoever loses gets a conflict, never a second attempt.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRecoverySweep } from '../../shared/usecases/recovery-sweep.ts';
import { manualClock } from '../support/context.ts';
import { startTestApi, type TestApi } from './support.ts';

const clock = manualClock('2026-03-02T10:00:00.000Z');
let api: TestApi;

async function attemptsOf(sessionId: string): Promise<number> {
  const res = await api.ctx.ddb.send(
    new QueryCommand({
      TableName: api.ctx.tables.timeline,
      KeyConditionExpression: 'sessionId = :id',
      FilterExpression: '#type = :attempt',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: { ':id': sessionId, ':attempt': 'attempt' },
      ConsistentRead: true,
    }),
  );
  return res.Items?.length ?? 0;
}

beforeAll(async () => {
  api = await startTestApi({ clock: clock.clock });
});

afterAll(async () => {
  await api.stop();
});

describe('retry-now racing the sweep', () => {
  it('makes exactly one attempt per due session, whoever wins, over 8 races', async () => {
    const winners = { api: 0, sweep: 0 };
    for (let round = 0; round < 8; round++) {
      // Prepare: a stalled session whose first retry is due.
      const id = `race-${round}`;
      const registered = await api.call('POST', '/v1/sessions', {
        body: { sessionId: id, kind: 'checkout', status: 'stalled', contact: { email: `${id}@example.com` } },
      });
      expect(registered.status).toBe(201);
      clock.advance(2 * 3600_000);
      const claimedBySweep: string[] = [];
      // Act
      const [now] = await Promise.all([
        api.call('POST', `/v1/sessions/${id}/retry-now`, { body: { reason: 'race' } }),
        runRecoverySweep(api.ctx, {
          trigger: 'race',
          onEvent: (e) => {
            if (e.type === 'claimed') claimedBySweep.push(e.sessionId);
          },
        }),
      ]);
      // Assess
      const sweepWon = claimedBySweep.includes(id);
      expect(await attemptsOf(id)).toBe(1);
      expect([now.status, sweepWon]).toEqual(sweepWon ? [409, true] : [202, false]);
      if (sweepWon) winners.sweep++;
      else winners.api++;
    }
    expect(winners.api + winners.sweep).toBe(8);
  });

  it('in either order, the second claimer is refused: sweep then retry-now is 409, retry-now then sweep claims nothing', async () => {
    // Prepare
    for (const id of ['order-sweep-first', 'order-api-first']) {
      await api.call('POST', '/v1/sessions', {
        body: { sessionId: id, kind: 'checkout', status: 'stalled', contact: { email: `${id}@example.com` } },
      });
    }
    clock.advance(2 * 3600_000);
    // Act
    const claimed: string[] = [];
    const onEvent = (e: { type: string; sessionId?: string }) => {
      if (e.type === 'claimed' && e.sessionId) claimed.push(e.sessionId);
    };
    const apiFirst = await api.call('POST', '/v1/sessions/order-api-first/retry-now');
    await runRecoverySweep(api.ctx, { trigger: 'order', onEvent });
    const apiSecond = await api.call('POST', '/v1/sessions/order-sweep-first/retry-now');
    // Assess
    expect(apiFirst.status).toBe(202);
    expect(claimed).toContain('order-sweep-first');
    expect(claimed).not.toContain('order-api-first');
    expect(apiSecond.status).toBe(409);
    expect(await attemptsOf('order-api-first')).toBe(1);
    expect(await attemptsOf('order-sweep-first')).toBe(1);
  });
});
