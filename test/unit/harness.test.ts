import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { CHANNELS, TABLES } from '../../shared/infra/resources.ts';
import { createTestContext } from '../support/context.ts';

describe('emulator harness', () => {
  it('creates every table and every channel queue with its DLQ from the shared description', async () => {
    // Prepare
    const { ctx, names } = await createTestContext();
    // Act
    const tables = await ctx.ddb.send(new ListTablesCommand({}));
    const queues = await ctx.sqs.send(new ListQueuesCommand({ QueueNamePrefix: names.prefix }));
    // Assess
    for (const t of TABLES) expect(tables.TableNames).toContain(`${names.prefix}-${t.id}`);
    expect(queues.QueueUrls).toHaveLength(CHANNELS.length * 2);
  });
});
