// The counters behind /retry/stats and the console's charts, against DynamoDB Local.
import { DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hourlyStatsPk, readStatsPartition, StatsBuffer } from '../../../shared/repositories/stats.ts';
import { createTestContext, manualClock, type TestContext } from '../../support/context.ts';

let t: TestContext;

beforeAll(async () => {
  t = await createTestContext({ clock: manualClock().clock });
});

afterAll(() => {
  t.ctx.ddb.destroy();
});

describe('stats counters', () => {
  it('a buffered flush puts each count in the hour it happened, not the first hour of the day', async () => {
    // Prepare: one sweep's buffer holds counts from both sides of an hour boundary.
    const buffer = new StatsBuffer();
    buffer.add({ orgId: 'hours', at: new Date('2026-03-02T10:59:59.000Z'), counts: { attempts: 1 } });
    buffer.add({ orgId: 'hours', at: new Date('2026-03-02T11:00:01.000Z'), counts: { attempts: 2 } });
    // Act
    await buffer.flush(t.ctx);
    // Assess
    const ten = await readStatsPartition(t.ctx, hourlyStatsPk('hours', new Date('2026-03-02T10:00:00Z')));
    const eleven = await readStatsPartition(t.ctx, hourlyStatsPk('hours', new Date('2026-03-02T11:00:00Z')));
    expect([ten.attempts, eleven.attempts]).toEqual([1, 2]);
  });

  it("test tables leave TTL off: the emulator's deletion job runs on the real clock, the tests on a fake one", async () => {
    // Act
    const ddb = new DynamoDBClient({
      endpoint: t.endpoints.dynamodb,
      region: t.endpoints.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const ttl = await ddb.send(new DescribeTimeToLiveCommand({ TableName: t.ctx.tables.control }));
    ddb.destroy();
    // Assess: hourly counters written at a March test clock expire 8 days later, long before today;
    // with TTL on, DynamoDB Local deletes them in the middle of a run.
    expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).toBe('DISABLED');
  });
});
