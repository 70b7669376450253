// Counts the GSI writes DynamoDB makes for the base writes a client sends, per index and partition key, from a
// model of DynamoDB's rule (DynamoDB Local reports no index capacity): an item entering an index is 1 write,
// leaving it 1, a changed index key 2 (delete + put, on the old and the new partition key), any other change of
// an item in an index 1 (every index here projects ALL). The tracker keeps the last state of each item it saw
// written; after an `UpdateItem` or `DeleteItem` it reads the item back (consistent) to learn its new state.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AppContext } from '../../shared/context.ts';
import { SESSIONS_TABLE, type TableDescription, TIMELINE_TABLE } from '../../shared/infra/resources.ts';

type Item = Record<string, unknown>;

export interface IndexWrites {
  /** Start counting (items written before are tracked, not counted). */
  start(): void;
  stop(): void;
  /** Writes per `<index>` and per `<index>|<partition key>`. */
  readonly perIndex: Map<string, number>;
  readonly perKey: Map<string, number>;
  total(): number;
  /** The busiest partition key of an index and its share of that index's writes. */
  busiest(index: string): { key: string; share: number } | undefined;
}

/** An item as the document client takes it, whether this middleware runs before or after its marshalling. */
function plain(item: Item, d: TableDescription): Item {
  const pk = item[d.partitionKey.name];
  const marshalled = typeof pk === 'object' && pk !== null && ('S' in pk || 'N' in pk);
  return marshalled ? unmarshall(item as Record<string, AttributeValue>) : item;
}

export function countIndexWrites(ctx: AppContext): IndexWrites {
  const tables = new Map<string, TableDescription>([
    [ctx.tables.sessions, SESSIONS_TABLE],
    [ctx.tables.timeline, TIMELINE_TABLE],
  ]);
  const items = new Map<string, Item | undefined>();
  const perIndex = new Map<string, number>();
  const perKey = new Map<string, number>();
  let counting = false;

  const primary = (d: TableDescription, item: Item) =>
    JSON.stringify([item[d.partitionKey.name], d.sortKey ? item[d.sortKey.name] : null]);
  const bump = (index: string, key: unknown) => {
    if (!counting) return;
    perIndex.set(index, (perIndex.get(index) ?? 0) + 1);
    perKey.set(`${index}|${String(key)}`, (perKey.get(`${index}|${String(key)}`) ?? 0) + 1);
  };
  const record = (table: string, rawKey: Item, rawNext: Item | undefined) => {
    const d = tables.get(table);
    if (!d) return;
    const key = plain(rawKey, d);
    const next = rawNext ? plain(rawNext, d) : undefined;
    const id = `${table}|${primary(d, key)}`;
    const old = items.get(id);
    items.set(id, next);
    for (const ix of d.indexes) {
      const keyOf = (item: Item | undefined) => {
        if (!item || item[ix.partitionKey.name] === undefined) return undefined;
        if (ix.sortKey && item[ix.sortKey.name] === undefined) return undefined;
        return { pk: item[ix.partitionKey.name], sk: ix.sortKey ? item[ix.sortKey.name] : undefined };
      };
      const before = keyOf(old);
      const after = keyOf(next);
      if (before && after && before.pk === after.pk && before.sk === after.sk) bump(ix.indexName, after.pk);
      else {
        if (before) bump(ix.indexName, before.pk);
        if (after) bump(ix.indexName, after.pk);
      }
    }
  };
  const reread = async (client: DynamoDBDocumentClient, table: string, rawKey: Item) => {
    const d = tables.get(table);
    if (!d) return;
    const key = plain(rawKey, d);
    const res = await client.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
    record(table, key, res.Item);
  };

  ctx.ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as Item;
      // The document client's commands carry the low-level names (PutItemCommand, TransactWriteItemsCommand).
      const command = String(context.commandName).replace(/Items?Command$/, 'Command');
      if (command === 'PutCommand') {
        record(String(input.TableName), input.Item as Item, input.Item as Item);
      } else if (command === 'UpdateCommand' || command === 'DeleteCommand') {
        if (tables.has(String(input.TableName)))
          await reread(ctx.ddb, String(input.TableName), input.Key as Item);
      } else if (command === 'TransactWriteCommand') {
        for (const t of (input.TransactItems ?? []) as Array<Record<string, Item>>) {
          if (t.Put) record(String(t.Put.TableName), t.Put.Item as Item, t.Put.Item as Item);
          else if (t.Update && tables.has(String(t.Update.TableName))) {
            await reread(ctx.ddb, String(t.Update.TableName), t.Update.Key as Item);
          } else if (t.Delete) record(String(t.Delete.TableName), t.Delete.Key as Item, undefined);
        }
      } else if (command === 'BatchWriteCommand') {
        const requests = (input.RequestItems ?? {}) as Record<string, Array<Record<string, Item>>>;
        const unprocessed = ((result.output as Item).UnprocessedItems ?? {}) as Record<string, unknown[]>;
        for (const [table, list] of Object.entries(requests)) {
          // Only when the whole batch landed: a partly unprocessed batch is sent again and recorded then.
          if (unprocessed[table]?.length) continue;
          for (const r of list) {
            if (r.PutRequest) record(table, r.PutRequest.Item as Item, r.PutRequest.Item as Item);
            else if (r.DeleteRequest) record(table, r.DeleteRequest.Key as Item, undefined);
          }
        }
      }
      return result;
    },
    { step: 'initialize', name: 'countIndexWrites' },
  );

  return {
    start: () => {
      counting = true;
    },
    stop: () => {
      counting = false;
    },
    perIndex,
    perKey,
    total: () => [...perIndex.values()].reduce((s, n) => s + n, 0),
    busiest(index) {
      const all = perIndex.get(index);
      if (!all) return undefined;
      let best: { key: string; share: number } | undefined;
      for (const [k, n] of perKey) {
        if (!k.startsWith(`${index}|`)) continue;
        if (!best || n / all > best.share) best = { key: k.slice(index.length + 1), share: n / all };
      }
      return best;
    },
  };
}
