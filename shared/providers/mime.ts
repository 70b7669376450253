// A MIME message (RFC 5322 / 2045-2047) for SES SendRawEmail, for exactly what this service sends: a
// UTF-8 text part, optionally an HTML alternative, and a few extra headers (List-Unsubscribe). Kept in the
// repository rather than taken from a MIME library: the ones that compose messages (nodemailer's composer,
// mimetext) would grow the email sender's bundle past its budget many times over for three features —
// encoded words in headers, base64 bodies and one multipart/alternative. test/unit/providers/mime.test.ts
// reads what this writes back with mailparser.
import { randomBytes } from 'node:crypto';
import { RenderError } from './errors.ts';

export interface MimeInput {
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
  /** Extra headers, in order; names and values must be single lines. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly date?: Date;
  /** Fixed boundary for tests; random otherwise. */
  readonly boundary?: string;
}

const CRLF = '\r\n';
const HEADER_NAME = /^[!-9;-~]+$/;

/** A header value on one line: a line break inside one would let a value add headers of its own. */
function singleLine(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new RenderError(`header ${name} must be a single line`);
  return value;
}

/** RFC 2047 encoded words for non-ASCII text, each at most 75 characters, never splitting a character. */
function encodeHeaderText(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  const words: string[] = [];
  let chunk = '';
  for (const char of value) {
    // 45 bytes of UTF-8 become 60 base64 characters: with `=?UTF-8?B?` and `?=` a word stays under 75.
    if (Buffer.byteLength(chunk + char, 'utf8') > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join(`${CRLF} `);
}

function base64Lines(text: string): string {
  const encoded = Buffer.from(text, 'utf8').toString('base64');
  return encoded.replace(/.{1,76}/g, (line) => `${line}${CRLF}`);
}

function part(contentType: string, body: string): string {
  return [
    `Content-Type: ${contentType}; charset=UTF-8`,
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(body),
  ].join(CRLF);
}

export function composeMime(input: MimeInput): string {
  const headers: string[] = [
    `From: ${singleLine('From', input.from)}`,
    `To: ${singleLine('To', input.to)}`,
    `Subject: ${encodeHeaderText(singleLine('Subject', input.subject))}`,
    `Date: ${(input.date ?? new Date()).toUTCString().replace('GMT', '+0000')}`,
    'MIME-Version: 1.0',
  ];
  for (const [name, value] of input.headers ?? []) {
    if (!HEADER_NAME.test(name)) throw new RenderError(`not a header name: ${JSON.stringify(name)}`);
    headers.push(`${name}: ${singleLine(name, value)}`);
  }
  if (!input.html) {
    return [...headers, part('text/plain', input.text)].join(CRLF);
  }
  const boundary = input.boundary ?? `=_sr_${randomBytes(12).toString('hex')}`;
  return [
    ...headers,
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    part('text/plain', input.text),
    `--${boundary}`,
    part('text/html', input.html),
    `--${boundary}--`,
    '',
  ].join(CRLF);
}
