// The recipient store: per (normalised address, channel) whether the recipient may be messaged, and why
// not — hard bounce, complaint, unsubscribe, STOP, operator — with its source and time. Kept in the control
// table beside jobs and counters (pk `recipient#<address>`): one more table would buy nothing the key
// shape does not already give, and every function that needs it already holds the control table.
//   sk `channel#<channel>`        the current state (absent: never suppressed)
//   sk `audit#<iso>#<channel>#<n>` every change, who made it and why (operators read these back)
// State and audit are written in one transaction, so a change is never without its record.
import { randomBytes } from 'node:crypto';
import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { type Infer, isoDateTime, parse } from '../schema.ts';
import { CONSENT_CHANNELS, type ConsentChannel, normaliseAddress } from './address.ts';

export const SUPPRESSION_REASONS = ['bounce', 'complaint', 'unsubscribe', 'stop', 'operator'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

const RecipientStateSchema = v.looseObject({
  pk: v.string(),
  sk: v.string(),
  address: v.string(),
  channel: v.picklist(CONSENT_CHANNELS),
  suppressed: v.boolean(),
  /** Why the recipient is suppressed (while `suppressed`), or was until it was lifted. */
  reason: v.optional(v.picklist(SUPPRESSION_REASONS)),
  /** Who said so: `ses`, `twilio`, `twilio:21610`, `one-click`, or the operator's ARN. */
  source: v.optional(v.string()),
  /** When the current state began. */
  since: isoDateTime,
  /** The product org the suppression came from, when known (the unsubscribe token names it). */
  orgId: v.optional(v.string()),
  detail: v.optional(v.string()),
});
export type RecipientState = Infer<typeof RecipientStateSchema>;

const AuditRecordSchema = v.looseObject({
  sk: v.string(),
  action: v.picklist(['suppressed', 'lifted']),
  channel: v.picklist(CONSENT_CHANNELS),
  reason: v.optional(v.string()),
  source: v.string(),
  at: isoDateTime,
  orgId: v.optional(v.string()),
  detail: v.optional(v.string()),
});
export type AuditRecord = Infer<typeof AuditRecordSchema>;

const pkOf = (address: string) => `recipient#${address}`;
const stateKey = (address: string, channel: ConsentChannel) => ({
  pk: pkOf(address),
  sk: `channel#${channel}`,
});

export interface SuppressionInput {
  readonly channel: ConsentChannel;
  /** Any spelling; normalised here. */
  readonly address: string;
  readonly reason: SuppressionReason;
  readonly source: string;
  readonly at: Date;
  readonly orgId?: string;
  /** What the provider said (bounce type, error code), kept with the audit record. */
  readonly detail?: string;
}

class InvalidAddressError extends Error {
  constructor(channel: string, address: string) {
    super(`not a ${channel} address: ${JSON.stringify(address.slice(0, 80))}`);
    this.name = 'InvalidAddressError';
  }
}

function keyed(channel: ConsentChannel, raw: string): string {
  const address = normaliseAddress(channel, raw);
  if (!address) throw new InvalidAddressError(channel, raw);
  return address;
}

let auditSequence = 0;

function auditItem(address: string, record: Omit<AuditRecord, 'sk'>) {
  // Two changes at the same `at` (a fixed test clock, one request) keep the order they were made in.
  auditSequence = (auditSequence + 1) % 1296;
  const order = `${Date.now().toString(36)}${auditSequence.toString(36).padStart(2, '0')}`;
  return {
    pk: pkOf(address),
    sk: `audit#${record.at}#${order}#${record.channel}#${randomBytes(3).toString('hex')}`,
    ...record,
  };
}

export async function getSuppression(
  ctx: AppContext,
  channel: ConsentChannel,
  raw: string,
): Promise<RecipientState | undefined> {
  const address = normaliseAddress(channel, raw);
  if (!address) return undefined;
  const out = await ctx.ddb.send(
    new GetCommand({ TableName: ctx.tables.control, Key: stateKey(address, channel), ConsistentRead: true }),
  );
  if (!out.Item) return undefined;
  const state = parse(RecipientStateSchema, out.Item);
  return state.suppressed ? state : undefined;
}

/**
 * Suppresses a recipient on a channel. Idempotent: an address already suppressed keeps its first reason and
 * time (a second bounce or a replayed complaint changes nothing and writes no audit). True when it changed.
 */
export async function suppressRecipient(ctx: AppContext, input: SuppressionInput): Promise<boolean> {
  const address = keyed(input.channel, input.address);
  const at = input.at.toISOString();
  const state: RecipientState = {
    ...stateKey(address, input.channel),
    address,
    channel: input.channel,
    suppressed: true,
    reason: input.reason,
    source: input.source,
    since: at,
    ...(input.orgId ? { orgId: input.orgId } : {}),
    ...(input.detail ? { detail: input.detail.slice(0, 500) } : {}),
  };
  try {
    await ctx.ddb.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: ctx.tables.control,
              Item: state,
              ConditionExpression: 'attribute_not_exists(pk) OR suppressed = :false',
              ExpressionAttributeValues: { ':false': false },
            },
          },
          {
            Put: {
              TableName: ctx.tables.control,
              Item: auditItem(address, {
                action: 'suppressed',
                channel: input.channel,
                reason: input.reason,
                source: input.source,
                at,
                ...(input.orgId ? { orgId: input.orgId } : {}),
                ...(input.detail ? { detail: input.detail.slice(0, 500) } : {}),
              }),
            },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    if (isAlreadyInState(error)) return false;
    throw error;
  }
}

export interface LiftInput {
  readonly channel: ConsentChannel;
  readonly address: string;
  readonly source: string;
  readonly at: Date;
  readonly reason?: string;
  /** Lift only a suppression of these reasons (START lifts a STOP, not a bounce or an operator's block). */
  readonly onlyReasons?: readonly SuppressionReason[];
}

/** Lifts a suppression (operator, START). True when it changed; false when there was nothing to lift. */
export async function liftSuppression(ctx: AppContext, input: LiftInput): Promise<boolean> {
  const address = keyed(input.channel, input.address);
  const at = input.at.toISOString();
  const values: Record<string, unknown> = { ':true': true };
  let condition = 'suppressed = :true';
  if (input.onlyReasons?.length) {
    const names = input.onlyReasons.map((_, i) => `:r${i}`);
    input.onlyReasons.forEach((r, i) => {
      values[`:r${i}`] = r;
    });
    condition += ` AND reason IN (${names.join(', ')})`;
  }
  try {
    await ctx.ddb.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: ctx.tables.control,
              Key: stateKey(address, input.channel),
              UpdateExpression: 'SET suppressed = :false, since = :at, #source = :source',
              ConditionExpression: condition,
              ExpressionAttributeNames: { '#source': 'source' },
              ExpressionAttributeValues: { ...values, ':false': false, ':at': at, ':source': input.source },
            },
          },
          {
            Put: {
              TableName: ctx.tables.control,
              Item: auditItem(address, {
                action: 'lifted',
                channel: input.channel,
                source: input.source,
                at,
                ...(input.reason ? { reason: input.reason.slice(0, 500) } : {}),
              }),
            },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    if (isAlreadyInState(error)) return false;
    throw error;
  }
}

function isAlreadyInState(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return false;
  const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
  return (
    reasons[0]?.Code === 'ConditionalCheckFailed' && reasons.every((r) => r.Code !== 'TransactionConflict')
  );
}

export interface RecipientView {
  readonly address: string;
  readonly channels: Partial<
    Record<
      ConsentChannel,
      { suppressed: boolean; reason: string | null; source: string | null; since: string | null }
    >
  >;
  /** The latest changes first (at most 50). */
  readonly history: AuditRecord[];
}

/** Everything known about an address (already normalised): state per channel and the latest changes. */
export async function readRecipient(
  ctx: AppContext,
  address: string,
  channels: readonly ConsentChannel[],
): Promise<RecipientView> {
  const [states, audit] = await Promise.all([
    ctx.ddb.send(
      new QueryCommand({
        TableName: ctx.tables.control,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :c)',
        ExpressionAttributeValues: { ':pk': pkOf(address), ':c': 'channel#' },
        ConsistentRead: true,
      }),
    ),
    ctx.ddb.send(
      new QueryCommand({
        TableName: ctx.tables.control,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :a)',
        ExpressionAttributeValues: { ':pk': pkOf(address), ':a': 'audit#' },
        ScanIndexForward: false,
        Limit: 50,
        ConsistentRead: true,
      }),
    ),
  ]);
  const view: RecipientView['channels'] = {};
  for (const channel of channels)
    view[channel] = { suppressed: false, reason: null, source: null, since: null };
  for (const raw of states.Items ?? []) {
    const state = parse(RecipientStateSchema, raw);
    view[state.channel] = {
      suppressed: state.suppressed,
      reason: state.suppressed ? (state.reason ?? null) : null,
      source: state.source ?? null,
      since: state.since,
    };
  }
  return {
    address,
    channels: view,
    history: (audit.Items ?? []).map((item) => {
      const { pk: _pk, ...rest } = parse(AuditRecordSchema, item);
      return rest as AuditRecord;
    }),
  };
}
