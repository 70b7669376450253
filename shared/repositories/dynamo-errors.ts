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
