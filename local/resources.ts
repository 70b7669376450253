// Creates the tables and channel queues of shared/infra/resources.ts on the emulators, as CDK does in AWS.
import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createDynamoClient } from '../shared/aws/clients.ts';
import type { AppContext } from '../shared/context.ts';
import {
  CHANNEL_QUEUES,
  type Channel,
  EVENT_QUEUES,
  eventQueueName,
  queueName,
  TABLES,
  type TableDescription,
  tableName,
  visibilityTimeoutSeconds,
} from '../shared/infra/resources.ts';

export interface QueueRef {
  readonly url: string;
  readonly dlqUrl: string;
  readonly name: string;
  readonly dlqName: string;
}

export interface ResourceNames {
  readonly prefix: string;
  readonly tables: { readonly sessions: string; readonly timeline: string; readonly control: string };
  readonly queues: Record<Channel, QueueRef>;
  /** The ingest function's checkout timer queue and the events DLQ it redrives to (#14). */
  readonly events: QueueRef;
}

export function tableInput(prefix: string, table: TableDescription): CreateTableCommandInput {
  const attributes = new Map<string, 'S' | 'N'>();
  const keys = [
    table.partitionKey,
    table.sortKey,
    ...table.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  for (const key of keys) if (key) attributes.set(key.name, key.type);
  return {
    TableName: tableName(prefix, table),
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [
      { AttributeName: table.partitionKey.name, KeyType: 'HASH' },
      ...(table.sortKey ? [{ AttributeName: table.sortKey.name, KeyType: 'RANGE' as const }] : []),
    ],
    GlobalSecondaryIndexes: table.indexes.length
      ? table.indexes.map((index) => ({
          IndexName: index.indexName,
          KeySchema: [
            { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
            ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }] : []),
          ],
          Projection: { ProjectionType: index.projection },
        }))
      : undefined,
  };
}

/**
 * A channel's queue and its DLQ, with the redrive policy CDK gives them. Creating an existing queue again is
 * a no-op that answers the same URL, so this also brings back a queue that was deleted.
 */
export async function createChannelQueue(
  sqs: SQSClient,
  prefix: string,
  channel: Channel,
): Promise<QueueRef> {
  const queue = CHANNEL_QUEUES.find((q) => q.channel === channel);
  if (!queue) throw new Error(`no channel ${channel}`);
  const dlqName = queueName(prefix, queue, true);
  const name = queueName(prefix, queue);
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: dlqName }));
  const dlqAttrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const main = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds(queue)),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqAttrs.Attributes?.QueueArn,
          maxReceiveCount: queue.maxReceiveCount,
        }),
      },
    }),
  );
  return { url: main.QueueUrl!, dlqUrl: dlq.QueueUrl!, name, dlqName };
}

/** The checkout timer queue with its redrive to the events DLQ, as CDK makes them (#14). */
export async function createEventQueues(sqs: SQSClient, prefix: string): Promise<QueueRef> {
  const dlqName = eventQueueName(prefix, 'dlq');
  const name = eventQueueName(prefix, 'timers');
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: dlqName }));
  const dlqAttrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const main = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(EVENT_QUEUES.timers.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqAttrs.Attributes?.QueueArn,
          maxReceiveCount: EVENT_QUEUES.timers.maxReceiveCount,
        }),
      },
    }),
  );
  return { url: main.QueueUrl!, dlqUrl: dlq.QueueUrl!, name, dlqName };
}

export async function createResources(
  endpoint: { dynamodb: string; region: string },
  sqs: SQSClient,
  prefix: string,
  options: { ttl?: boolean } = {},
): Promise<ResourceNames> {
  const ddb = new DynamoDBClient({
    endpoint: endpoint.dynamodb,
    region: endpoint.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    for (const table of TABLES) {
      await ddb.send(new CreateTableCommand(tableInput(prefix, table)));
      if (table.ttlAttribute && options.ttl !== false) {
        await ddb.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName(prefix, table),
            TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
          }),
        );
      }
    }
  } finally {
    ddb.destroy();
  }
  const queues = {} as Record<Channel, QueueRef>;
  for (const queue of CHANNEL_QUEUES)
    queues[queue.channel] = await createChannelQueue(sqs, prefix, queue.channel);
  return {
    events: await createEventQueues(sqs, prefix),
    prefix,
    tables: {
      sessions: tableName(prefix, TABLES[0]),
      timeline: tableName(prefix, TABLES[1]),
      control: tableName(prefix, TABLES[2]),
    },
    queues,
  };
}

/**
 * The AppContext of resources created on the emulators: what contextFromEnv builds in Lambda, for the
 * local runtime, benchmarks and tests. `overrides` sets the clock, shards or settings.
 */
export function contextForResources(
  endpoints: { dynamodb: string; region: string },
  sqs: SQSClient,
  names: ResourceNames,
  overrides: Partial<Pick<AppContext, 'clock' | 'shards' | 'settings' | 'cursorKey'>> = {},
): AppContext {
  // A random cursor key per context unless one is given (npm start passes CURSOR_KEY when set).
  const cursorKey = randomBytes(32).toString('base64url');
  return {
    ddb: createDynamoClient(endpoints),
    sqs,
    tables: names.tables,
    queues: Object.fromEntries(
      Object.entries(names.queues).map(([channel, q]) => [channel, { url: q.url, dlqUrl: q.dlqUrl }]),
    ) as AppContext['queues'],
    clock: overrides.clock ?? (() => new Date()),
    shards: overrides.shards ?? 8,
    ...(overrides.settings ? { settings: overrides.settings } : {}),
    cursorKey: overrides.cursorKey ?? (async () => cursorKey),
  };
}
