// Signing of webhook deliveries and its check on the receiving side. The product verifies a delivery with
// `verifyWebhookSignature` (or the same four steps in its own language):
//   1. read the `X-Session-Recovery-Signature` header: `t=<unix seconds>,v1=<hex>` (several v1 during a key rotation);
//   2. compute HMAC-SHA256(secret, `${t}.${rawBody}`) over the raw bytes received, before any JSON parsing;
//   3. compare it with each v1 in constant time;
//   4. reject when |now - t| exceeds the tolerance (300 s): a captured delivery cannot be replayed later.
// Only node:crypto: the module can be copied into a product as it is.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Session-Recovery-Signature';
export const DELIVERY_ID_HEADER = 'X-Session-Recovery-Delivery';
export const DEFAULT_TOLERANCE_SECONDS = 300;

function hmacHex(secret: string, timestamp: number, body: string | Uint8Array): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return mac.digest('hex');
}

/** The header value for `body` signed at `timestampSeconds` (unix seconds). */
export function signWebhookBody(secret: string, body: string, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${hmacHex(secret, timestampSeconds, body)}`;
}

export type WebhookVerification =
  | { readonly valid: true; readonly timestamp: number }
  | {
      readonly valid: false;
      readonly reason:
        | 'missing_header'
        | 'malformed_header'
        | 'timestamp_out_of_tolerance'
        | 'signature_mismatch';
    };

/**
 * Checks a delivery. `body` must be the raw request body exactly as received; `now` is the receiver's clock.
 * A delivery signed more than `toleranceSeconds` away from `now` (either way) is refused.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string | Uint8Array,
  now: Date = new Date(),
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): WebhookVerification {
  if (!header) return { valid: false, reason: 'missing_header' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0) return { valid: false, reason: 'malformed_header' };
  if (Math.abs(Math.floor(now.getTime() / 1000) - timestamp) > toleranceSeconds) {
    return { valid: false, reason: 'timestamp_out_of_tolerance' };
  }
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  const match = signatures.some((candidate) => timingSafeEqual(Buffer.from(candidate, 'hex'), expected));
  return match ? { valid: true, timestamp } : { valid: false, reason: 'signature_mismatch' };
}
