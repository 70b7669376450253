// Our own product events (#14): the six session events a product can send on the stage's EventBridge bus
// (the detail-type names the event) or to POST /v1/events (`type` names it). One schema for both, published
// as JSON Schema in docs/events.schema.json. Pure schemas and mapping: the route table imports this module.
import * as v from 'valibot';
import { RegisterSessionSchema } from '../domain/session-input.ts';
import { type Infer, inputDateTime, text } from '../schema.ts';
import type { EventAction, ProductEvent } from './model.ts';

/** The EventBridge detail-types of our generic events; each names what it asks of its session. */
export const GENERIC_DETAIL_TYPES = [
  'Session Registered',
  'Session Stalled',
  'Session Processing',
  'Session Recovered',
  'Session Completed',
  'Session Cancelled',
] as const;
export type GenericEventType = (typeof GENERIC_DETAIL_TYPES)[number];

function actionOf(type: GenericEventType): EventAction {
  switch (type) {
    case 'Session Registered':
      return 'register';
    case 'Session Stalled':
      return 'stall';
    case 'Session Processing':
      return 'process';
    case 'Session Recovered':
      return 'recover';
    case 'Session Completed':
      return 'complete';
    case 'Session Cancelled':
      return 'cancel';
  }
}

// Field descriptions for the documents (OpenAPI, docs/events.schema.json) are added by bin/openapi.ts: every
// function bundles the route table, and text only a reader needs stays out of the Lambdas.
export const EventId = text(1, 128);

// The fields of a registration (POST /v1/sessions), `kind` and `status` optional: an event that starts a
// session carries what a registration would; one that moves it on carries only what changed.
const { kind, status, ...registration } = RegisterSessionSchema.entries;
const fields = { ...registration, kind: v.optional(kind), status: v.optional(status) };

function detailSchema() {
  return v.strictObject({ id: v.optional(EventId), time: v.optional(inputDateTime), ...fields });
}
let detail: ReturnType<typeof detailSchema> | undefined;
/**
 * The `detail` of a generic event on the bus; `id` and `time` default to the EventBridge envelope's. Built
 * on first use: only the ingest function reads it, and every function bundles this module (the route table).
 */
export function sessionEventDetailSchema(): ReturnType<typeof detailSchema> {
  detail ??= detailSchema();
  return detail;
}
export type SessionEventDetail = Infer<ReturnType<typeof detailSchema>>;

/** The body of POST /v1/events. */
export const ProductEventBody = v.strictObject({
  id: EventId,
  type: v.picklist(GENERIC_DETAIL_TYPES),
  time: inputDateTime,
  ...fields,
});
export type ProductEventBodyInput = Infer<typeof ProductEventBody>;

export function genericEvent(input: {
  id: string;
  type: GenericEventType;
  time: string;
  detail: Omit<SessionEventDetail, 'id' | 'time'>;
}): ProductEvent {
  const { sessionId, kind, status, processingStartedAt, ...rest } = input.detail;
  const action = actionOf(input.type);
  return {
    source: 'generic',
    id: input.id,
    type: input.type,
    time: new Date(input.time),
    sessionId,
    action,
    ...(action === 'register' ? { startStatus: status ?? 'active' } : {}),
    fields: { ...(kind ? { kind } : {}), ...rest },
    ...(processingStartedAt ? { processingStartedAt } : {}),
  };
}
