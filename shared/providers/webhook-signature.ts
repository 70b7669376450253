// Signing of webhook deliveries in the Standard Webhooks format (standardwebhooks.com), so a product can
// verify with the off-the-shelf `standardwebhooks` libraries or these few lines:
//   webhook-id         the delivery id, the same on every retry (drop a second copy by it)
//   webhook-timestamp  unix seconds of the signing
//   webhook-signature  `v1,<base64 HMAC-SHA256>` over `${id}.${timestamp}.${rawBody}`, space-separated
//                      when several keys are valid (a rotation)
// The key is the secret `whsec_<base64>` decoded from base64 (the prefix dropped), as the libraries do.
// A receiver refuses a timestamp more than 300 s from its clock, so a captured delivery cannot be replayed.
// Only node:crypto: the module can be copied into a product as it is.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_ID_HEADER = 'webhook-id';
const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';
const DEFAULT_TOLERANCE_SECONDS = 300;
const SECRET_PREFIX = 'whsec_';

/** Whether a secret is in the Standard Webhooks form: `whsec_` and base64 of at least 16 bytes. */
export function isStandardWebhookSecret(secret: string): boolean {
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : undefined;
  if (!body || !/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) return false;
  return Buffer.from(body, 'base64').length >= 16;
}

function keyOf(secret: string): Buffer {
  return Buffer.from(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
    'base64',
  );
}

function mac(secret: string, id: string, timestamp: number, body: string | Uint8Array): Buffer {
  const hmac = createHmac('sha256', keyOf(secret));
  hmac.update(`${id}.${timestamp}.`);
  hmac.update(body);
  return hmac.digest();
}

export interface WebhookSignatureHeaders {
  readonly [WEBHOOK_ID_HEADER]: string;
  readonly [WEBHOOK_TIMESTAMP_HEADER]: string;
  readonly [WEBHOOK_SIGNATURE_HEADER]: string;
}

/** The three headers of a delivery of `body` with id `id`, signed at `timestampSeconds`. */
export function signWebhook(
  secret: string,
  id: string,
  body: string,
  timestampSeconds: number,
): WebhookSignatureHeaders {
  return {
    [WEBHOOK_ID_HEADER]: id,
    [WEBHOOK_TIMESTAMP_HEADER]: String(timestampSeconds),
    [WEBHOOK_SIGNATURE_HEADER]: `v1,${mac(secret, id, timestampSeconds, body).toString('base64')}`,
  };
}

export type WebhookVerification =
  | { readonly valid: true; readonly timestamp: number; readonly id: string }
  | {
      readonly valid: false;
      readonly reason:
        | 'missing_header'
        | 'malformed_header'
        | 'timestamp_out_of_tolerance'
        | 'signature_mismatch';
    };

/**
 * Checks a delivery. `headers` are the request's (lower-case names); `body` the raw request body exactly as
 * received; `now` the receiver's clock.
 */
export function verifyWebhook(
  secret: string,
  headers: Readonly<Record<string, string | undefined>>,
  body: string | Uint8Array,
  now: Date = new Date(),
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): WebhookVerification {
  const id = headers[WEBHOOK_ID_HEADER];
  const stamp = headers[WEBHOOK_TIMESTAMP_HEADER];
  const signature = headers[WEBHOOK_SIGNATURE_HEADER];
  if (!id || !stamp || !signature) return { valid: false, reason: 'missing_header' };
  if (!/^\d{1,12}$/.test(stamp)) return { valid: false, reason: 'malformed_header' };
  const timestamp = Number(stamp);
  const candidates = signature
    .split(' ')
    .map((s) => s.split(','))
    .filter(([version, value]) => version === 'v1' && value)
    .map(([, value]) => Buffer.from(value ?? '', 'base64'));
  if (candidates.length === 0) return { valid: false, reason: 'malformed_header' };
  if (Math.abs(Math.floor(now.getTime() / 1000) - timestamp) > toleranceSeconds) {
    return { valid: false, reason: 'timestamp_out_of_tolerance' };
  }
  const expected = mac(secret, id, timestamp, body);
  const match = candidates.some((c) => c.length === expected.length && timingSafeEqual(c, expected));
  return match ? { valid: true, timestamp, id } : { valid: false, reason: 'signature_mismatch' };
}
