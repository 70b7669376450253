// Twilio's request signature (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed with the account's auth
// token, over the full URL Twilio called (query string included) followed by every POST parameter as
// name+value, names sorted (a repeated name: its distinct values sorted). Twilio may sign the URL with or
// without the default port, so both are accepted. Only node:crypto.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';

export type FormParams = Readonly<Record<string, string | readonly string[]>>;

export function twilioSignature(authToken: string, url: string, params: FormParams): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    const values = typeof value === 'string' ? [value] : [...new Set(value)].sort();
    for (const item of values) data += name + item;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** The URL with and without its scheme's default port, as Twilio may have signed either. */
function urlVariants(url: string): string[] {
  const match = /^(https?:\/\/)([^/?#]*)(.*)$/i.exec(url);
  if (!match) return [url];
  const [, scheme = '', authority = '', rest = ''] = match;
  const defaultPort = scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  const withoutPort = authority.replace(/:\d+$/, '');
  const variants = [url, `${scheme}${withoutPort}${rest}`];
  if (!/:\d+$/.test(authority)) variants.push(`${scheme}${authority}${defaultPort}${rest}`);
  return [...new Set(variants)];
}

/** Whether `header` is Twilio's signature of this request; constant time per comparison. */
export function verifyTwilioSignature(
  authToken: string,
  header: string | undefined,
  url: string,
  params: FormParams,
): boolean {
  if (!header || header.length > 200) return false;
  const given = Buffer.from(header);
  return urlVariants(url).some((candidate) => {
    const expected = Buffer.from(twilioSignature(authToken, candidate, params));
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}
