// The one-click unsubscribe token in every recovery email's List-Unsubscribe URL (RFC 8058). It names the
// recipient and the product org and is signed with HMAC-SHA256 under the service's unsubscribe key:
//   u1.<base64url(JSON [address, orgId | null])>.<base64url(first 16 bytes of the HMAC)>
// Stateless (no token store), so a link works as long as the key does; any change to it — one character
// of the address, of the org or of the tag — fails the check, and only the canonical base64url spelling
// of each part is accepted (a different final character can decode to the same bytes). Only node:crypto.
import { createHmac, timingSafeEqual } from 'node:crypto';

const VERSION = 'u1';
const TAG_BYTES = 16;
export const MIN_KEY_LENGTH = 32;

export interface UnsubscribeClaims {
  /** The recipient's normalised email address. */
  readonly address: string;
  readonly orgId?: string;
}

function tag(key: string, signed: string): Buffer {
  return createHmac('sha256', key).update(signed).digest().subarray(0, TAG_BYTES);
}

export function createUnsubscribeToken(key: string, claims: UnsubscribeClaims): string {
  if (key.length < MIN_KEY_LENGTH)
    throw new Error(`the unsubscribe key must have ${MIN_KEY_LENGTH}+ characters`);
  const payload = Buffer.from(JSON.stringify([claims.address, claims.orgId ?? null]), 'utf8').toString(
    'base64url',
  );
  const signed = `${VERSION}.${payload}`;
  return `${signed}.${tag(key, signed).toString('base64url')}`;
}

/** Decodes base64url, refusing any spelling that is not the canonical one. */
function canonical(part: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : undefined;
}

/** The claims of a token this key signed; undefined for anything else (forged, altered, malformed). */
export function verifyUnsubscribeToken(key: string, token: string): UnsubscribeClaims | undefined {
  if (token.length > 2048) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return undefined;
  const [, payload = '', given = ''] = parts;
  const payloadBytes = canonical(payload);
  const givenTag = canonical(given);
  if (!payloadBytes || !givenTag || givenTag.length !== TAG_BYTES) return undefined;
  if (!timingSafeEqual(givenTag, tag(key, `${VERSION}.${payload}`))) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(payloadBytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(claims) || claims.length !== 2) return undefined;
  const [address, orgId] = claims as unknown[];
  if (typeof address !== 'string' || address.length === 0 || address.length > 320) return undefined;
  if (orgId !== null && typeof orgId !== 'string') return undefined;
  return { address, ...(typeof orgId === 'string' ? { orgId } : {}) };
}

/** The public URL that unsubscribes with `token` (POST, one click) or shows the confirm page (GET). */
export function unsubscribeUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/v1/public/unsubscribe/${token}`;
}
