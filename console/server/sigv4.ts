// SigV4 for the console: the proxy signs each API call as API Gateway (service `execute-api`) expects, with
// the SDK's own signer (@smithy/signature-v4). The local API server verifies any client's signature with the
// local credentials the way API Gateway does: its own canonical request from the request exactly as it
// arrived (the raw path and query, the header lines the client listed in SignedHeaders and no other), never
// by signing again with a signer that adds headers of its own. AWS's SigV4 test suite, botocore and the
// `aws4` package check it (test/unit/aws/sigv4-verify.test.ts, test/console/sigv4-clients.test.ts).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
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

/** A request as it arrived: nothing decoded, nothing merged. */
export interface ReceivedRequest {
  readonly method: string;
  /** The request target's path as sent, still percent-encoded, e.g. `/v1/sessions/a%20b`. */
  readonly rawPath: string;
  /** The query as sent, without the `?`. */
  readonly rawQuery: string;
  /** The header lines in order, repeated names kept (node's `req.rawHeaders` in pairs). */
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: Buffer | string;
}

/** `20260302T100000Z` → Date. */
function amzDate(text: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
}

const UNRESERVED = /^[A-Za-z0-9\-_.~]$/;

/** SigV4's URI encoding: every UTF-8 byte but RFC 3986's unreserved characters as %XY, upper-case hex. */
export function uriEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += UNRESERVED.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The canonical URI of a raw path, for services other than S3: dot segments and empty segments removed
 * (RFC 3986 normalization; a trailing slash stays), then each segment URI-encoded once as it was sent, so
 * `%20` in the request becomes `%2520`, as botocore, aws4 and the SDK sign it.
 */
export function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const path = `/${segments.map(uriEncode).join('/')}`;
  return rawPath.length > 1 && rawPath.endsWith('/') && path !== '/' ? `${path}/` : path;
}

const formDecode = (text: string) => decodeURIComponent(text.replaceAll('+', ' '));

/**
 * A raw query's `key=value` pairs decoded as API Gateway decodes them (form encoding: `+` is a space, `%2B`
 * a plus), in order, repeated keys kept; a key without `=` has the empty value. botocore signs a space as
 * `%20` and sends it as `+`; AWS accepts that, so it reads `+` as a space. Throws on a malformed `%` escape.
 */
export function parseRawQuery(rawQuery: string): [string, string][] {
  return rawQuery
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const at = pair.indexOf('=');
      const key = at < 0 ? pair : pair.slice(0, at);
      const value = at < 0 ? '' : pair.slice(at + 1);
      return [formDecode(key), formDecode(value)];
    });
}

/** The canonical query: each pair decoded, encoded by SigV4's rules, sorted by key then by value. */
export function canonicalQuery(rawQuery: string): string {
  const pairs = parseRawQuery(rawQuery).map(([k, v]) => [uriEncode(k), uriEncode(v)] as const);
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  pairs.sort((a, b) => order(a[0], b[0]) || order(a[1], b[1]));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** The canonical header lines of the named headers: values trimmed, inner runs of spaces made one, joined by `,`. */
function canonicalHeaders(
  headers: readonly (readonly [string, string])[],
  names: readonly string[],
): string | { missing: string } {
  const lines: string[] = [];
  for (const name of names) {
    const values = headers
      .filter(([n]) => n.toLowerCase() === name)
      .map(([, v]) => v.trim().replace(/\s+/g, ' '));
    if (values.length === 0) return { missing: name };
    lines.push(`${name}:${values.join(',')}\n`);
  }
  return lines.join('');
}

function hmac(key: Buffer | string, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * Checks a request's SigV4 signature against the given credentials as API Gateway does: the canonical
 * request is built from the request as received and exactly the headers its SignedHeaders lists (which must
 * include `host` and `x-amz-date`), and the signatures are compared in constant time.
 */
export async function verifySignature(
  request: ReceivedRequest,
  options: { region: string; credentials: AwsCredentialIdentity; now?: Date; service?: string },
): Promise<VerifyResult> {
  const service = options.service ?? SIGNING_SERVICE;
  const header = (name: string) => request.headers.find(([n]) => n.toLowerCase() === name)?.[1];
  const match = AUTHORIZATION.exec(header('authorization') ?? '');
  if (!match) return { ok: false, reason: 'no AWS4-HMAC-SHA256 Authorization header' };
  const [, accessKeyId = '', day = '', region, scopeService, signedHeaders = '', signature = ''] = match;
  if (accessKeyId !== options.credentials.accessKeyId) return { ok: false, reason: 'unknown access key' };
  if (region !== options.region || scopeService !== service) {
    return { ok: false, reason: `signed for ${region}/${scopeService}, not ${options.region}/${service}` };
  }
  const stamp = header('x-amz-date');
  const date = amzDate(stamp);
  const now = options.now ?? new Date();
  if (!stamp || !date || Math.abs(now.getTime() - date.getTime()) > MAX_SKEW_MS) {
    return { ok: false, reason: 'x-amz-date missing or more than 5 minutes off' };
  }
  if (stamp.slice(0, 8) !== day) {
    return { ok: false, reason: 'the credential scope date is not the request date' };
  }
  const names = signedHeaders.split(';');
  if (!names.includes('host')) return { ok: false, reason: 'the host header is not signed' };
  if (!names.includes('x-amz-date')) return { ok: false, reason: 'the x-amz-date header is not signed' };
  const lines = canonicalHeaders(request.headers, names);
  if (typeof lines !== 'string') return { ok: false, reason: `signed header ${lines.missing} is missing` };
  const payloadHash = sha256Hex(request.body ?? '');
  const declared = header('x-amz-content-sha256');
  if (declared !== undefined && declared !== payloadHash) {
    return { ok: false, reason: 'x-amz-content-sha256 is not the hash of the body' };
  }
  let query: string;
  try {
    query = canonicalQuery(request.rawQuery);
  } catch {
    return { ok: false, reason: 'the query string has a malformed percent-encoding' };
  }
  const canonical = [
    request.method.toUpperCase(),
    canonicalPath(request.rawPath),
    query,
    lines,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', stamp, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${options.credentials.secretAccessKey}`, day), region ?? ''), service),
    'aws4_request',
  );
  const expected = Buffer.from(createHmac('sha256', key).update(toSign, 'utf8').digest('hex'));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'the signature does not match' };
  }
  return { ok: true, accessKeyId };
}
