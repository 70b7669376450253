// Stripe (#14): Checkout and Billing events, from the Stripe partner event source on EventBridge (the detail
// is the Stripe event) or from a webhook endpoint signed with `Stripe-Signature`. Only the fields mapped are
// checked; everything else in Stripe's objects is left as it is (loose objects), so a newer API version
// that adds fields still reads.
//   checkout.session.expired   → a stalled `checkout` session (contact from customer_details, recovery link
//                                from after_expiration.recovery.url when enabled, amount_total and currency)
//   checkout.session.completed → the session it recovered (`recovered_from`), else its own, paid
//   invoice.payment_failed     → a stalled `payment` session, the hosted invoice page as its recovery link
//   invoice.paid / .voided     → paid (recovered when we were recovering it) / cancelled
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as v from 'valibot';
import type { Contact } from '../domain/session.ts';
import { safeParse } from '../schema.ts';
import type { EventFields, Mapped, ProductEvent } from './model.ts';
import { RejectedEventError } from './model.ts';

export const STRIPE_SIGNATURE_HEADER = 'stripe-signature';
/** How old a signed timestamp may be: Stripe's libraries default to 5 minutes. */
export const STRIPE_TOLERANCE_SECONDS = 300;

export const STRIPE_EVENT_TYPES = [
  'checkout.session.expired',
  'checkout.session.completed',
  'invoice.payment_failed',
  'invoice.paid',
  'invoice.voided',
] as const;

const nullishString = v.nullish(v.string());
const StripeMetadata = v.nullish(v.record(v.string(), v.string()));

export const StripeEventSchema = v.looseObject({
  id: v.pipe(v.string(), v.regex(/^evt_[A-Za-z0-9_]+$/, 'a Stripe event id (evt_…)')),
  object: v.literal('event'),
  type: v.pipe(v.string(), v.minLength(1)),
  created: v.pipe(v.number(), v.integer(), v.minValue(0)),
  livemode: v.optional(v.boolean()),
  data: v.looseObject({ object: v.looseObject({ id: v.string(), object: v.string() }) }),
});
export type StripeEvent = v.InferOutput<typeof StripeEventSchema>;

const CheckoutSessionSchema = v.looseObject({
  id: v.pipe(v.string(), v.regex(/^cs_[A-Za-z0-9_]+$/, 'a Checkout Session id (cs_…)')),
  object: v.literal('checkout.session'),
  amount_total: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(0))),
  currency: nullishString,
  customer_details: v.nullish(
    v.looseObject({ email: nullishString, name: nullishString, phone: nullishString }),
  ),
  customer_email: nullishString,
  after_expiration: v.nullish(
    v.looseObject({
      recovery: v.nullish(v.looseObject({ enabled: v.optional(v.boolean()), url: nullishString })),
    }),
  ),
  recovered_from: nullishString,
  client_reference_id: nullishString,
  livemode: v.optional(v.boolean()),
  metadata: StripeMetadata,
});

const InvoiceSchema = v.looseObject({
  id: v.pipe(v.string(), v.regex(/^in_[A-Za-z0-9_]+$/, 'an Invoice id (in_…)')),
  object: v.literal('invoice'),
  amount_due: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(0))),
  amount_remaining: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(0))),
  currency: nullishString,
  customer_email: nullishString,
  customer_name: nullishString,
  customer_phone: nullishString,
  hosted_invoice_url: nullishString,
  livemode: v.optional(v.boolean()),
  metadata: StripeMetadata,
});

function contactOf(c: { email?: string | null; name?: string | null; phone?: string | null }): Contact {
  return {
    ...(c.email ? { email: c.email } : {}),
    ...(c.phone && /^\+[1-9]\d{6,14}$/.test(c.phone) ? { phone: c.phone } : {}),
    ...(c.name ? { name: c.name.slice(0, 200) } : {}),
  };
}

function amountOf(value: number | null | undefined, currency: string | null | undefined) {
  return value !== null && value !== undefined && currency
    ? { value, currency: currency.toUpperCase() }
    : undefined;
}

function orgOf(metadata: Record<string, string> | null | undefined): string | undefined {
  const org = metadata?.orgId ?? metadata?.org_id;
  return org && org.length <= 128 ? org : undefined;
}

function withAmount(fields: EventFields, amount: ReturnType<typeof amountOf>): EventFields {
  return amount ? { ...fields, amount } : fields;
}

function issues(prefix: string, list: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }>) {
  return list.map((i) => ({ path: [prefix, ...i.path.map(String)].join('.'), message: i.message }));
}

/** A Stripe event (the webhook's body, or the EventBridge detail) → what it asks of which session. */
export function mapStripeEvent(raw: unknown): Mapped {
  const parsed = safeParse(StripeEventSchema, raw);
  if (!parsed.success) throw new RejectedEventError('not a Stripe event', issues('stripe', parsed.issues));
  const event = parsed.data;
  const base = {
    source: 'stripe' as const,
    id: event.id,
    type: event.type,
    time: new Date(event.created * 1000),
  };
  const object = event.data.object;
  switch (event.type) {
    case 'checkout.session.expired':
    case 'checkout.session.completed': {
      const cs = safeParse(CheckoutSessionSchema, object);
      if (!cs.success)
        throw new RejectedEventError(
          `${event.type} ${event.id} carries no readable Checkout Session`,
          issues('stripe.data.object', cs.issues),
          event.id,
        );
      const s = cs.data;
      const amount = amountOf(s.amount_total, s.currency);
      if (event.type === 'checkout.session.completed') {
        return {
          ...base,
          sessionId: s.recovered_from || s.id,
          action: 'finish',
          // A checkout completed without a recovery link was never abandoned: no expiry can follow it.
          keepIfEarly: Boolean(s.recovered_from),
          fields: withAmount({}, amount),
        } satisfies ProductEvent;
      }
      const recovery = s.after_expiration?.recovery;
      const orgId = orgOf(s.metadata);
      return {
        ...base,
        sessionId: s.id,
        action: 'stall',
        startStatus: 'stalled',
        fields: withAmount(
          {
            kind: 'checkout',
            ...(orgId ? { orgId } : {}),
            contact: contactOf({
              email: s.customer_details?.email ?? s.customer_email,
              name: s.customer_details?.name,
              phone: s.customer_details?.phone,
            }),
            ...(recovery?.enabled && recovery.url ? { recoveryUrl: recovery.url } : {}),
            metadata: {
              provider: 'stripe',
              stripeCheckoutSession: s.id,
              livemode: s.livemode ?? event.livemode ?? false,
              ...(s.client_reference_id ? { clientReferenceId: s.client_reference_id } : {}),
            },
          },
          amount,
        ),
      } satisfies ProductEvent;
    }
    case 'invoice.payment_failed':
    case 'invoice.paid':
    case 'invoice.voided': {
      const inv = safeParse(InvoiceSchema, object);
      if (!inv.success)
        throw new RejectedEventError(
          `${event.type} ${event.id} carries no readable Invoice`,
          issues('stripe.data.object', inv.issues),
          event.id,
        );
      const i = inv.data;
      const amount = amountOf(i.amount_remaining || i.amount_due, i.currency);
      if (event.type === 'invoice.paid')
        return {
          ...base,
          sessionId: i.id,
          action: 'finish',
          fields: withAmount({}, amountOf(i.amount_due, i.currency)),
        };
      if (event.type === 'invoice.voided') return { ...base, sessionId: i.id, action: 'cancel', fields: {} };
      const orgId = orgOf(i.metadata);
      return {
        ...base,
        sessionId: i.id,
        action: 'stall',
        startStatus: 'stalled',
        fields: withAmount(
          {
            kind: 'payment',
            ...(orgId ? { orgId } : {}),
            contact: contactOf({ email: i.customer_email, name: i.customer_name, phone: i.customer_phone }),
            ...(i.hosted_invoice_url ? { recoveryUrl: i.hosted_invoice_url } : {}),
            metadata: {
              provider: 'stripe',
              stripeInvoice: i.id,
              livemode: i.livemode ?? event.livemode ?? false,
            },
          },
          amount,
        ),
      };
    }
    default:
      return {
        ignored: true,
        reason: `Stripe event type ${event.type} is not mapped`,
        id: event.id,
        type: event.type,
      };
  }
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Stripe's webhook signature: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`
 * (several v1 while a secret is rolled). Constant-time comparison; a timestamp older than the tolerance is
 * refused, so a captured request cannot be replayed later.
 */
export function verifyStripeSignature(
  secret: string,
  header: string | undefined,
  rawBody: string,
  now: Date,
  toleranceSeconds = STRIPE_TOLERANCE_SECONDS,
): SignatureCheck {
  if (!header || header.length > 2000) return { ok: false, reason: 'no Stripe-Signature header' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.split('=', 2).map((s) => s.trim());
    if (key === 't' && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === 'v1' && value) signatures.push(value);
  }
  if (timestamp === undefined) return { ok: false, reason: 'the Stripe-Signature header has no timestamp' };
  if (signatures.length === 0)
    return { ok: false, reason: 'the Stripe-Signature header has no v1 signature' };
  const expected = Buffer.from(
    createHmac('sha256', secret).update(`${timestamp}.${rawBody}`, 'utf8').digest('hex'),
  );
  const matches = signatures.some((s) => {
    const given = Buffer.from(s);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) return { ok: false, reason: 'no v1 signature matches the body with our signing secret' };
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds)
    return {
      ok: false,
      reason: `the signed timestamp is more than ${toleranceSeconds} s away from our clock`,
    };
  return { ok: true };
}
