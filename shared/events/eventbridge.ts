// An event from the stage's EventBridge bus (#14) → a mapped product event: our generic session events (by
// detail-type), Stripe partner events (the detail is the Stripe event) and Shopify partner events (detail
// `{ payload, metadata }`). Anything else is rejected with its reasons.
import * as v from 'valibot';
import { inputDateTime, safeParse } from '../schema.ts';
import {
  GENERIC_DETAIL_TYPES,
  type GenericEventType,
  genericEvent,
  sessionEventDetailSchema,
} from './generic.ts';
import { type Mapped, RejectedEventError } from './model.ts';
import { mapShopifyWebhook, shopifyHeadersOf } from './shopify.ts';
import { mapStripeEvent } from './stripe.ts';

export const STRIPE_PARTNER_PREFIX = 'aws.partner/stripe.com/';
export const SHOPIFY_PARTNER_PREFIX = 'aws.partner/shopify.com/';
export const SHOPIFY_DETAIL_TYPE = 'shopifyWebhook';

const EnvelopeSchema = v.looseObject({
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  'detail-type': v.string(),
  source: v.string(),
  time: inputDateTime,
  detail: v.unknown(),
});

const ShopifyDetailSchema = v.looseObject({
  payload: v.unknown(),
  metadata: v.record(v.string(), v.union([v.string(), v.number(), v.boolean()])),
});

export function isEventBridgeEvent(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'detail-type' in raw && 'source' in raw;
}

function issues(prefix: string, list: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }>) {
  return list.map((i) => ({ path: [prefix, ...i.path.map(String)].join('.'), message: i.message }));
}

export function mapEventBridgeEvent(
  raw: unknown,
  options: { abandonAfterMinutes: number; shopifyOrgId?: string },
): Mapped {
  const parsed = safeParse(EnvelopeSchema, raw);
  if (!parsed.success)
    throw new RejectedEventError('not an EventBridge event', issues('envelope', parsed.issues));
  const envelope = parsed.data;
  const detailType = envelope['detail-type'];
  if (envelope.source.startsWith(STRIPE_PARTNER_PREFIX)) return mapStripeEvent(envelope.detail);
  if (envelope.source.startsWith(SHOPIFY_PARTNER_PREFIX)) {
    if (detailType !== SHOPIFY_DETAIL_TYPE)
      throw new RejectedEventError(`Shopify partner event of detail-type ${detailType}`, [], envelope.id);
    const detail = safeParse(ShopifyDetailSchema, envelope.detail);
    if (!detail.success)
      throw new RejectedEventError(
        'a Shopify partner event without payload and metadata',
        issues('detail', detail.issues),
        envelope.id,
      );
    const metadata = new Map(
      Object.entries(detail.data.metadata).map(([k, value]) => [k.toLowerCase(), String(value)]),
    );
    return mapShopifyWebhook(
      shopifyHeadersOf((name) => metadata.get(name)),
      detail.data.payload,
      {
        abandonAfterMinutes: options.abandonAfterMinutes,
        ...(options.shopifyOrgId ? { orgId: options.shopifyOrgId } : {}),
      },
    );
  }
  if ((GENERIC_DETAIL_TYPES as readonly string[]).includes(detailType)) {
    const detail = safeParse(sessionEventDetailSchema(), envelope.detail);
    if (!detail.success)
      throw new RejectedEventError(
        `a ${detailType} event with a bad detail`,
        issues('detail', detail.issues),
        envelope.id,
      );
    const { id, time, ...rest } = detail.data;
    return genericEvent({
      id: id ?? envelope.id,
      type: detailType as GenericEventType,
      time: time ?? envelope.time,
      detail: rest,
    });
  }
  throw new RejectedEventError(
    `no mapping for ${envelope.source} events of detail-type ${detailType}`,
    [],
    envelope.id,
  );
}
