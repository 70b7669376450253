// Shopify (#14): checkouts and orders, from the Shopify partner event source on EventBridge (detail-type
// `shopifyWebhook`, detail `{ payload, metadata }` with the webhook's headers in metadata) or from a webhook
// signed with `X-Shopify-Hmac-Sha256`. Shopify has no "abandoned" event: a checkout starts (or updates) an
// `active` session whose abandonment clock restarts with each update; with no order after the delay it
// becomes stalled (./timers.ts), its `abandoned_checkout_url` the recovery link. `orders/create` naming the
// checkout's token ends it: recovered when it had stalled, completed when it had not.
// The HMAC covers the body only, not the headers (#18): an event is dated by its body, and the ledger knows it
// by a digest of its body as well as by X-Shopify-Event-Id, so neither a forged header nor a replayed body
// under a fresh id changes a session.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import * as v from 'valibot';
import { minorUnitsOf } from '../domain/amount.ts';
import type { Contact } from '../domain/session.ts';
import { safeParse } from '../schema.ts';
import type { EventFields, Mapped } from './model.ts';
import { RejectedEventError } from './model.ts';

export const SHOPIFY_HMAC_HEADER = 'x-shopify-hmac-sha256';
export const SHOPIFY_TOPICS = ['checkouts/create', 'checkouts/update', 'orders/create'] as const;
/** Default delay after a checkout's last update before it counts as abandoned. */
export const DEFAULT_ABANDON_AFTER_MINUTES = 60;
/**
 * How far X-Shopify-Triggered-At may refine the body's time: Shopify's payload times are whole seconds, so
 * the header (milliseconds) is taken only within the body's own second. It then orders two events of the
 * same second and can never move an event past a later body time, whoever wrote the header.
 */
export const TRIGGERED_AT_WINDOW_MS = 1000;

const nullishString = v.nullish(v.string());
const Token = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,100}$/, 'a checkout token'));

const CustomerSchema = v.nullish(
  v.looseObject({
    email: nullishString,
    phone: nullishString,
    first_name: nullishString,
    last_name: nullishString,
  }),
);

const CheckoutSchema = v.looseObject({
  token: Token,
  email: nullishString,
  phone: nullishString,
  customer: CustomerSchema,
  abandoned_checkout_url: nullishString,
  total_price: v.union([v.string(), v.number()]),
  currency: v.pipe(v.string(), v.regex(/^[A-Za-z]{3}$/)),
  completed_at: nullishString,
  updated_at: nullishString,
  created_at: nullishString,
  processed_at: nullishString,
});

const OrderSchema = v.looseObject({
  id: v.number(),
  checkout_token: v.nullish(Token),
  total_price: v.union([v.string(), v.number()]),
  currency: v.pipe(v.string(), v.regex(/^[A-Za-z]{3}$/)),
  updated_at: nullishString,
  created_at: nullishString,
  processed_at: nullishString,
});

/** The webhook headers we read (lower-case names), from the request or the EventBridge metadata. */
export interface ShopifyHeaders {
  readonly topic?: string;
  readonly eventId?: string;
  readonly webhookId?: string;
  readonly triggeredAt?: string;
  readonly shopDomain?: string;
}

export function shopifyHeadersOf(get: (name: string) => string | undefined): ShopifyHeaders {
  const h = (n: string) => get(n);
  return {
    topic: h('x-shopify-topic'),
    eventId: h('x-shopify-event-id'),
    webhookId: h('x-shopify-webhook-id'),
    triggeredAt: h('x-shopify-triggered-at'),
    shopDomain: h('x-shopify-shop-domain'),
  };
}

export function sessionIdOfCheckout(token: string): string {
  return `shopify-${token}`;
}

function issues(prefix: string, list: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }>) {
  return list.map((i) => ({ path: [prefix, ...i.path.map(String)].join('.'), message: i.message }));
}

function amountOf(price: string | number, currency: string) {
  const value = minorUnitsOf(String(price), currency);
  return value === undefined ? undefined : { value, currency: currency.toUpperCase() };
}

function dateOf(...candidates: Array<string | null | undefined>): Date | undefined {
  for (const c of candidates) {
    if (!c) continue;
    const t = Date.parse(c);
    if (!Number.isNaN(t)) return new Date(t);
  }
  return undefined;
}

type BodyTimes = { updated_at?: string | null; created_at?: string | null; processed_at?: string | null };

/**
 * When the event happened: the signed body's time (`updated_at`, `created_at`, `processed_at`), refined by
 * X-Shopify-Triggered-At only within TRIGGERED_AT_WINDOW_MS of a whole-second body time.
 */
export function shopifyEventTime(body: BodyTimes, triggeredAt: string | undefined): Date | undefined {
  const signed = dateOf(body.updated_at, body.created_at, body.processed_at);
  if (!signed) return undefined;
  const hint = dateOf(triggeredAt);
  const offset = hint ? hint.getTime() - signed.getTime() : -1;
  return signed.getUTCMilliseconds() === 0 && offset >= 0 && offset < TRIGGERED_AT_WINDOW_MS ? hint : signed;
}

function contactOf(c: v.InferOutput<typeof CheckoutSchema>): Contact {
  const email = c.email ?? c.customer?.email;
  const phone = c.phone ?? c.customer?.phone;
  const name = [c.customer?.first_name, c.customer?.last_name].filter(Boolean).join(' ');
  return {
    ...(email ? { email } : {}),
    ...(phone && /^\+[1-9]\d{6,14}$/.test(phone) ? { phone } : {}),
    ...(name ? { name: name.slice(0, 200) } : {}),
  };
}

/** A Shopify webhook (topic, headers, payload) → what it asks of which session. */
export function mapShopifyWebhook(
  headers: ShopifyHeaders,
  payload: unknown,
  options: {
    abandonAfterMinutes: number;
    orgId?: string;
    /** The body as signed (the webhook route); the payload's JSON when absent (EventBridge). */
    rawBody?: string;
  },
): Mapped {
  const id = headers.eventId ?? headers.webhookId;
  const bodyDigest = createHash('sha256')
    .update(options.rawBody ?? JSON.stringify(payload), 'utf8')
    .digest('hex');
  const topic = headers.topic;
  if (!id)
    throw new RejectedEventError('a Shopify webhook without X-Shopify-Event-Id or X-Shopify-Webhook-Id');
  if (!topic) throw new RejectedEventError('a Shopify webhook without X-Shopify-Topic', [], id);
  if (!(SHOPIFY_TOPICS as readonly string[]).includes(topic))
    return { ignored: true, reason: `Shopify topic ${topic} is not mapped`, id, type: topic };
  if (topic === 'orders/create') {
    const parsed = safeParse(OrderSchema, payload);
    if (!parsed.success)
      throw new RejectedEventError(
        `orders/create ${id} carries no readable order`,
        issues('shopify.payload', parsed.issues),
        id,
      );
    const order = parsed.data;
    if (!order.checkout_token)
      return {
        ignored: true,
        reason: 'the order comes from no checkout (no checkout_token)',
        id,
        type: topic,
      };
    const time = shopifyEventTime(order, headers.triggeredAt);
    if (!time) throw new RejectedEventError(`orders/create ${id} has no time in its body`, [], id);
    const amount = amountOf(order.total_price, order.currency);
    return {
      source: 'shopify',
      id,
      bodyDigest,
      type: topic,
      time,
      sessionId: sessionIdOfCheckout(order.checkout_token),
      action: 'finish',
      fields: amount ? { amount } : {},
    };
  }
  const parsed = safeParse(CheckoutSchema, payload);
  if (!parsed.success)
    throw new RejectedEventError(
      `${topic} ${id} carries no readable checkout`,
      issues('shopify.payload', parsed.issues),
      id,
    );
  const checkout = parsed.data;
  const time = shopifyEventTime(checkout, headers.triggeredAt);
  if (!time) throw new RejectedEventError(`${topic} ${id} has no time in its body`, [], id);
  const amount = amountOf(checkout.total_price, checkout.currency);
  const sessionId = sessionIdOfCheckout(checkout.token);
  if (checkout.completed_at) {
    return {
      source: 'shopify',
      id,
      bodyDigest,
      type: topic,
      time,
      sessionId,
      action: 'finish',
      fields: amount ? { amount } : {},
    };
  }
  const fields: EventFields = {
    kind: 'checkout',
    ...(options.orgId ? { orgId: options.orgId } : {}),
    contact: contactOf(checkout),
    ...(checkout.abandoned_checkout_url ? { recoveryUrl: checkout.abandoned_checkout_url } : {}),
    ...(amount ? { amount } : {}),
    metadata: {
      provider: 'shopify',
      shopifyCheckoutToken: checkout.token,
      ...(headers.shopDomain ? { shop: headers.shopDomain } : {}),
    },
  };
  return {
    source: 'shopify',
    id,
    bodyDigest,
    type: topic,
    time,
    sessionId,
    action: 'touch',
    startStatus: 'active',
    fields,
    abandonAfterMinutes: options.abandonAfterMinutes,
  };
}

/** Shopify's webhook HMAC: base64 of HMAC-SHA256 of the raw body with the app's secret; constant time. */
export function verifyShopifyHmac(secret: string, header: string | undefined, rawBody: string): boolean {
  if (!header || header.length > 200) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(rawBody, 'utf8').digest('base64'));
  const given = Buffer.from(header.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}
