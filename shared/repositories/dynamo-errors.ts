// Recognising DynamoDB's conditional failures, alone or inside a cancelled transaction.
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

export function isConditionalCheckFailed(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof Error && error.name === 'ConditionalCheckFailedException')
  );
}

export interface CancellationInfo {
  /** Per transaction item: its code (`ConditionalCheckFailed`, `TransactionConflict`, `None`, …). */
  readonly codes: string[];
  /** The item as it was when its condition failed (ReturnValuesOnConditionCheckFailure = ALL_OLD). */
  readonly items: Array<Record<string, unknown> | undefined>;
}

export function transactionCancellation(error: unknown): CancellationInfo | undefined {
  if (
    !(error instanceof TransactionCanceledException) &&
    !(error instanceof Error && error.name === 'TransactionCanceledException')
  ) {
    return undefined;
  }
  const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
  return {
    codes: reasons.map((r) => r.Code ?? 'None'),
    items: reasons.map((r) => (r.Item ? unmarshall(r.Item as Record<string, AttributeValue>) : undefined)),
  };
}

const THROTTLING_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);
const THROTTLING_CODES = new Set([
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);

/** Whether DynamoDB (or a transaction item) refused for capacity: the SDK retried and gave up. */
export function isThrottling(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (THROTTLING_NAMES.has(error.name)) return true;
  return transactionCancellation(error)?.codes.some((c) => THROTTLING_CODES.has(c)) ?? false;
}

/** Whether DynamoDB refused an item over its 400 KB limit (alone or inside a transaction). */
export function isItemTooLarge(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const sized = /item size (to update )?has exceeded/i;
  if (error.name === 'ValidationException' && sized.test(error.message)) return true;
  const reasons = (error as TransactionCanceledException).CancellationReasons;
  return (
    transactionCancellation(error) !== undefined &&
    (sized.test(error.message) || (reasons ?? []).some((r) => sized.test(r.Message ?? '')))
  );
}
