// Counts DynamoDB calls and the items they read, through an SDK middleware on the real client: the
// benchmark's read amplification and "0 scans" figures come from what was actually sent.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoCallCounts {
  calls: Record<string, number>;
  itemsRead: number;
}

export function countDynamoCalls(client: DynamoDBDocumentClient): DynamoCallCounts {
  const counts: DynamoCallCounts = { calls: {}, itemsRead: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? 'unknown');
      counts.calls[command] = (counts.calls[command] ?? 0) + 1;
      const result = await next(args);
      const output = result.output as {
        Items?: unknown[];
        Item?: unknown;
        Count?: number;
        Responses?: unknown;
      };
      if (Array.isArray(output.Items)) counts.itemsRead += output.Items.length;
      else if (output.Item) counts.itemsRead += 1;
      return result;
    },
    { step: 'initialize', name: 'countDynamoCalls' },
  );
  return counts;
}
