// The receipts function's SES side: one EventBridge event (an SES event of the configuration set) → one
// receipt applied. An event that is not one this service reads throws: Lambda retries it and then puts it
// in the function's dead-letter queue, whose alarm pages (a receipt is never dropped without a trace).
// A receipt that finds its outcome still `sending` throws too, so the retry a minute later applies it.
import type { AppContext } from '../context.ts';
import type { GuardThresholds } from '../reputation/guard.ts';
import { type AppliedReceipt, applyReceipt } from './apply.ts';
import { observeReceipt } from './observe.ts';
import { parseSesEvent, receiptFromSesEvent } from './ses-events.ts';

export class ReceiptNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReceiptNotReadyError';
  }
}

export async function handleSesEvent(
  ctx: AppContext,
  input: unknown,
  guard: GuardThresholds,
): Promise<AppliedReceipt> {
  const receipt = receiptFromSesEvent(parseSesEvent(input));
  const applied = await applyReceipt(ctx, receipt);
  await observeReceipt(ctx, receipt, applied, guard);
  if (applied.outcome === 'pending')
    throw new ReceiptNotReadyError(
      `${receipt.providerStatus} for ${receipt.providerMessageId} arrived before the send was recorded; retrying`,
    );
  return applied;
}
