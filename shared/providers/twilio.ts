// SMS and WhatsApp through the Twilio Messages API: POST /2010-04-01/Accounts/{sid}/Messages.json,
// form-encoded To/From/Body with HTTP basic auth. 201 carries the message `sid` (SM…); errors carry
// `{code, message, more_info}` (21211 invalid To number, 21610 unsubscribed, 20003 bad credentials, …).
// WhatsApp uses the same resource with `whatsapp:`-prefixed addresses on both ends.
import * as v from 'valibot';
import type { ChannelMessage } from '../messages.ts';
import { encodeOutcomeRef, outcomeRefOf } from '../receipts/outcome-ref.ts';
import { safeParse, text } from '../schema.ts';
import { RecipientOptedOutError } from './errors.ts';
import { isSuccess, postOnce, throwForStatus } from './http.ts';
import { recipientOf } from './recipient.ts';
import type { NotificationProvider, ProviderResult, RenderedNotification } from './types.ts';

const TWILIO_API_BASE_URL = 'https://api.twilio.com';

export interface TwilioProviderOptions {
  readonly channel: 'sms' | 'whatsapp';
  readonly accountSid: string;
  readonly authToken: string;
  /** Sender number, E.164 (without `whatsapp:`; it is added for WhatsApp). */
  readonly from: string;
  /** Overridden locally to point at the receiver in local/receivers.ts. */
  readonly apiBaseUrl?: string;
  /**
   * Where Twilio posts the message's status (`/v1/public/hooks/twilio/status` of this service); each send
   * adds its outcome ref as the `ref` query parameter, which Twilio's signature covers.
   */
  readonly statusCallbackUrl?: string;
  readonly timeoutMs: number;
  readonly clock?: () => Date;
  readonly fetch?: typeof fetch;
}

const CreatedSchema = v.looseObject({ sid: text(1) });
const ErrorSchema = v.looseObject({ code: v.optional(v.number()), message: v.optional(v.string()) });

/** Twilio's code for a recipient who replied STOP to this sender. */
const TWILIO_UNSUBSCRIBED_CODE = 21610;

function errorCode(text: string): number | undefined {
  try {
    const parsed = safeParse(ErrorSchema, JSON.parse(text));
    return parsed.success ? parsed.data.code : undefined;
  } catch {
    return undefined;
  }
}

/** The status callback of one send: the configured URL with the outcome ref added as `ref`. */
function statusCallbackFor(base: string, message: ChannelMessage): string {
  const ref = outcomeRefOf(message);
  const encoded = ref && encodeOutcomeRef(ref, 1024);
  if (!encoded) return base;
  const url = new URL(base);
  url.searchParams.set('ref', encoded);
  return url.toString();
}

function address(channel: 'sms' | 'whatsapp', number: string): string {
  if (channel === 'sms' || number.startsWith('whatsapp:')) return number;
  return `whatsapp:${number}`;
}

function errorReason(text: string): string {
  try {
    const parsed = safeParse(ErrorSchema, JSON.parse(text));
    if (parsed.success && (parsed.data.code !== undefined || parsed.data.message)) {
      return `${parsed.data.code ?? 'error'} ${parsed.data.message ?? ''}`.trim();
    }
  } catch {
    // Not JSON (a proxy's HTML page, an empty 503): the raw text is all there is.
  }
  return text.trim() || 'no reason given';
}

export function createTwilioProvider(options: TwilioProviderOptions): NotificationProvider {
  const clock = options.clock ?? (() => new Date());
  const base = (options.apiBaseUrl ?? TWILIO_API_BASE_URL).replace(/\/+$/, '');
  const url = `${base}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
  const authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  return {
    channel: options.channel,
    name: 'twilio',
    async send(message: ChannelMessage, rendered: RenderedNotification): Promise<ProviderResult> {
      const form = new URLSearchParams({
        To: address(options.channel, recipientOf(message, 'twilio')),
        From: address(options.channel, options.from),
        Body: rendered.text,
      });
      if (options.statusCallbackUrl)
        form.set('StatusCallback', statusCallbackFor(options.statusCallbackUrl, message));
      const answer = await postOnce(
        url,
        {
          headers: {
            authorization,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: form.toString(),
        },
        { provider: 'twilio', timeoutMs: options.timeoutMs, fetch: options.fetch },
      );
      if (!isSuccess(answer.status)) {
        if (errorCode(answer.text) === TWILIO_UNSUBSCRIBED_CODE)
          throw new RecipientOptedOutError(`twilio ${answer.status}: ${errorReason(answer.text)}`, {
            status: answer.status,
          });
        throwForStatus(answer, errorReason(answer.text), { provider: 'twilio', now: clock() });
      }
      let sid: string | undefined;
      try {
        const parsed = safeParse(CreatedSchema, JSON.parse(answer.text));
        if (parsed.success) sid = parsed.data.sid;
      } catch {
        // Handled below: Twilio accepted the message, so it must not be retried for a missing id.
      }
      return { providerMessageId: sid ?? `twilio-unknown-${answer.status}` };
    },
  };
}
