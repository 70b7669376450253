import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { CHANNELS, TABLES, tableName } from '../../shared/infra/resources.ts';
import { createTestContext } from '../support/context.ts';

describe('emulator harness', () => {
  it('creates every table and every channel queue with its DLQ from the shared description', async () => {
    // Prepare
    const { ctx, names } = await createTestContext();

    // Act: look each one up by name (ListTables pages at 100, and every test file adds three tables).
    const tables = await Promise.all(
      TABLES.map((t) => ctx.ddb.send(new DescribeTableCommand({ TableName: tableName(names.prefix, t) }))),
    );
    const queues = await Promise.all(
      CHANNELS.map((c) =>
        ctx.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: names.queues[c].url, AttributeNames: ['RedrivePolicy'] }),
        ),
      ),
    );

    // Assess
    expect(tables.map((t) => t.Table?.TableStatus)).toEqual(TABLES.map(() => 'ACTIVE'));
    for (const q of queues) {
      expect(JSON.parse(q.Attributes?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 5 });
    }
  });
});
