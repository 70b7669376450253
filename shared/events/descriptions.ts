// What each field of a generic product event means (#14), for the documents only: the OpenAPI document's
// POST /v1/events body and docs/events.schema.json. Kept out of the schemas themselves: every function
// bundles the route table, and text only a reader needs stays out of the Lambdas.
import { toJsonSchema } from '@valibot/to-json-schema';
import { GENERIC_DETAIL_TYPES, ProductEventBody, sessionEventDetailSchema } from './generic.ts';

type JsonObject = Record<string, unknown>;

export const EVENT_FIELD_DESCRIPTIONS: Record<string, string> = {
  id: 'Unique per event: a second delivery with the same id changes nothing. On the bus, defaults to the EventBridge event id (set it: a product that retries PutEvents makes a new EventBridge id).',
  type: 'The event, as its EventBridge detail-type: what it asks of the session.',
  time: 'When it happened. Events are applied in this order, whatever order they arrive in: one older than the latest applied to its session is recorded stale and changes nothing. On the bus, defaults to the EventBridge event time (seconds).',
  sessionId: 'The session the event is about; the event starts it when it does not exist yet.',
  kind: 'Required when the event starts the session (checkout, payment, transcription, …).',
  status: 'Session Registered only: the status the session starts in (default active).',
  orgId: 'The org whose active retry policy applies (default org when absent).',
  policyId: 'A retry policy to use instead of the org’s active one.',
  contact: 'Where reminders go; merged into the session’s contact.',
  recoveryUrl: 'The link reminders carry (http or https).',
  sizeBytes: 'Session Processing: the size the deadline is computed from.',
  processingStartedAt: 'Session Processing: when processing started (default: the event time).',
  amount:
    'What the session is worth: value in the currency’s minor unit (cents: 4900 is 49.00 USD), currency an ISO 4217 code. A recovery counts it in GET /v1/retry/stats.',
  metadata: 'Free-form JSON kept on the session (merged).',
};

const ACTIONS: Record<string, string> = {
  'Session Registered':
    'starts the session (status active, stalled or processing); on an existing session, updates its fields',
  'Session Stalled': 'stalls it (reminders start under its policy), starting it when absent',
  'Session Processing': 'starts its processing deadline, starting it when absent',
  'Session Recovered':
    'ends it recovered (attributed to the reminders before it); kept until the session starts when it arrives first',
  'Session Completed': 'ends it completed; kept until the session starts when it arrives first',
  'Session Cancelled': 'ends it cancelled; kept until the session starts when it arrives first',
};

/** Adds the field descriptions to a JSON Schema of an event object (in place) and returns it. */
export function describeEventSchema(schema: JsonObject): JsonObject {
  const properties = (schema.properties ?? {}) as Record<string, JsonObject>;
  for (const [name, property] of Object.entries(properties)) {
    const description = EVENT_FIELD_DESCRIPTIONS[name];
    if (description && typeof property === 'object') property.description = description;
  }
  return schema;
}

function jsonSchemaOf(schema: Parameters<typeof toJsonSchema>[0]): JsonObject {
  const { $schema: _schema, ...rest } = toJsonSchema(schema, {
    target: 'draft-2020-12',
    typeMode: 'input',
    errorMode: 'ignore',
    overrideSchema: ({ jsonSchema }) =>
      jsonSchema.type === undefined &&
      !jsonSchema.anyOf &&
      !jsonSchema.$ref &&
      !jsonSchema.enum &&
      !jsonSchema.const
        ? { ...jsonSchema, type: 'object' }
        : undefined,
  }) as JsonObject;
  return describeEventSchema(rest);
}

/** docs/events.schema.json: the generic events a product sends on the stage's bus or to POST /v1/events. */
export function buildEventsJsonSchema(): JsonObject {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'session-recovery product events',
    description:
      'Generic session events (#14). On the stage’s EventBridge bus (`<prefix>-events`, PutEvents with any Source) the detail-type names the event and the detail is SessionEventDetail; POST /v1/events takes ProductEventBody. Stripe and Shopify events need no mapping by the product: see docs/integrations.md.',
    'x-detail-types': Object.fromEntries(GENERIC_DETAIL_TYPES.map((t) => [t, ACTIONS[t]])),
    $defs: {
      SessionEventDetail: jsonSchemaOf(sessionEventDetailSchema()),
      ProductEventBody: jsonSchemaOf(ProductEventBody),
    },
  };
}
