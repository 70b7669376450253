// SigV4 for the console: the proxy signs each API call as API Gateway (service `execute-api`) expects, and
// the local API server can verify such a signature with local credentials, so a test proves the proxy
// signs correctly without calling AWS. Both sides use the SDK's own signer (@smithy/signature-v4); the
// hash is node:crypto, which is what the SDK's Node hash does.
import { createHash, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import { NodeSha256 } from '../../shared/aws/node-sha256.ts';

const SIGNING_SERVICE = 'execute-api';
/** How far a request's x-amz-date may be from now (AWS allows 5 minutes). */
const MAX_SKEW_MS = 5 * 60_000;

export function createSigner(options: {
  region: string;
  credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
}): SignatureV4 {
  return new SignatureV4({
    service: SIGNING_SERVICE,
    region: options.region,
    credentials: options.credentials,
    sha256: NodeSha256,
  });
}

export interface PlainRequest {
  readonly method: string;
  /** e.g. `https:` */
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  readonly path: string;
  readonly query: Record<string, string | string[]>;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

export async function signRequest(
  signer: SignatureV4,
  request: PlainRequest,
): Promise<Record<string, string>> {
  const signed = await signer.sign({ ...request, headers: { ...request.headers } });
  return signed.headers;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

export type VerifyResult =
  | { readonly ok: true; readonly accessKeyId: string }
  | { readonly ok: false; readonly reason: string };

/** `20260302T100000Z` → Date. */
function amzDate(text: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
}

/**
 * Checks a request's SigV4 signature against the given credentials, by signing the same canonical
 * request again (only the headers it names as signed) and comparing in constant time.
 */
export async function verifySignature(
  request: Omit<PlainRequest, 'headers'> & { headers: Record<string, string | undefined> },
  options: { region: string; credentials: AwsCredentialIdentity; now?: Date },
): Promise<VerifyResult> {
  const match = AUTHORIZATION.exec(request.headers.authorization ?? '');
  if (!match) return { ok: false, reason: 'no AWS4-HMAC-SHA256 Authorization header' };
  const [, accessKeyId, day, region, service, signedHeaders, signature] = match as unknown as string[];
  if (accessKeyId !== options.credentials.accessKeyId) return { ok: false, reason: 'unknown access key' };
  if (region !== options.region || service !== SIGNING_SERVICE) {
    return { ok: false, reason: `signed for ${region}/${service}, not ${options.region}/${SIGNING_SERVICE}` };
  }
  const date = amzDate(request.headers['x-amz-date']);
  const now = options.now ?? new Date();
  if (!date || Math.abs(now.getTime() - date.getTime()) > MAX_SKEW_MS) {
    return { ok: false, reason: 'x-amz-date missing or more than 5 minutes off' };
  }
  if (date.toISOString().slice(0, 10).replaceAll('-', '') !== day) {
    return { ok: false, reason: 'the credential scope date is not the request date' };
  }
  const names = (signedHeaders ?? '').split(';');
  if (!names.includes('host')) return { ok: false, reason: 'the host header is not signed' };
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = request.headers[name];
    if (value === undefined) return { ok: false, reason: `signed header ${name} is missing` };
    headers[name] = value;
  }
  // The signer takes a present x-amz-content-sha256 as the payload's hash: it must be the body's own.
  const declared = headers['x-amz-content-sha256'];
  if (declared !== undefined) {
    const actual = createHash('sha256')
      .update(request.body ?? '')
      .digest('hex');
    if (declared !== actual) return { ok: false, reason: 'x-amz-content-sha256 is not the hash of the body' };
  }
  const signer = createSigner({ region: options.region, credentials: options.credentials });
  const again = await signer.sign(
    { ...request, headers },
    { signingDate: date, signableHeaders: new Set(names) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(again.headers.authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(expected);
  const b = Buffer.from(signature ?? '');
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    return { ok: false, reason: 'the signature does not match' };
  }
  return { ok: true, accessKeyId: accessKeyId ?? '' };
}
