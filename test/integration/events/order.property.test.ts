// A start and an ending of one session, delivered in any order and racing each other (#18, item 3): fast-check's
// scheduler decides the order of every DynamoDB call the two deliveries make, so an ending that finds no
// session, keeps its marker and then meets the start registered meanwhile is one of the interleavings. Whatever
// the order, the session ends as applying the two by event time would leave it, and its `lastEventAt` is the
// latest time among the events applied: it never moves back.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../../shared/aws/clients.ts';
import type { AppContext } from '../../../shared/context.ts';
import type { SessionStatus } from '../../../shared/domain/session.ts';
import { applyProductEvent } from '../../../shared/events/apply.ts';
import { type GenericEventType, genericEvent } from '../../../shared/events/generic.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { createTestContext, manualClock, type TestContext } from '../../support/context.ts';
import { type AwsCall, gateAwsCalls, InFlight } from '../../support/faults.ts';

const NUM_RUNS = Number(process.env.EVENT_ORDER_RUNS ?? 60);
const clock = manualClock('2026-03-02T12:00:00.000Z');
const inFlight = new InFlight();
let scheduler: fc.Scheduler | undefined;
let tc: TestContext;
let gated: AppContext;
let serial = 0;

const ENDINGS = {
  'Session Recovered': 'recovered',
  'Session Completed': 'completed',
  'Session Cancelled': 'cancelled',
} as const satisfies Partial<Record<GenericEventType, SessionStatus>>;
type Ending = keyof typeof ENDINGS;

function gateOf(call: AwsCall): Promise<void> | undefined {
  return scheduler?.schedule(Promise.resolve(), `${call.command} ${call.tables.join(',')}`);
}

/** Lets one waiting call go at a time, once the one before it has come back and its caller moved on. */
async function drive(s: fc.Scheduler, work: Promise<unknown>): Promise<void> {
  let finished = false;
  const done = work.finally(() => {
    finished = true;
  });
  done.catch(() => {});
  while (!finished) {
    await inFlight.idle();
    if (finished) break;
    if (s.count() > 0) await s.waitOne();
    else if (inFlight.size > 0) await inFlight.nextLeave();
    else await new Promise((resolve) => setImmediate(resolve));
  }
  await done;
}

beforeAll(async () => {
  tc = await createTestContext({ clock: clock.clock });
  const ddb = createDynamoClient(tc.endpoints);
  gateAwsCalls(ddb, 'dynamodb', { before: gateOf }, inFlight);
  gated = { ...tc.ctx, ddb };
});

const planArbitrary = fc.record({
  // Minutes after 10:00 (before the clock's noon): the start's and the ending's event times.
  startAt: fc.integer({ min: 0, max: 60 }),
  endAt: fc.integer({ min: 0, max: 60 }),
  ending: fc.constantFrom<Ending>('Session Recovered', 'Session Completed', 'Session Cancelled'),
});

describe('a start and an ending in any order', () => {
  it(`${NUM_RUNS} interleavings: the final state is as by event time, lastEventAt the latest applied`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), planArbitrary, async (s, plan) => {
        // Prepare
        const sessionId = `order-${++serial}-${tc.names.prefix}`;
        const at = (m: number) => new Date(Date.parse('2026-03-02T10:00:00.000Z') + m * 60_000).toISOString();
        const start = genericEvent({
          id: `${sessionId}-start`,
          type: 'Session Stalled',
          time: at(plan.startAt),
          detail: { sessionId, kind: 'checkout', contact: { email: 'ada@example.com' } },
        });
        const end = genericEvent({
          id: `${sessionId}-end`,
          type: plan.ending,
          time: at(plan.endAt),
          detail: { sessionId },
        });
        // Act
        scheduler = s;
        try {
          await drive(s, Promise.all([applyProductEvent(gated, start), applyProductEvent(gated, end)]));
        } finally {
          scheduler = undefined;
        }
        // Assess: by event time, an ending at or after the start ends it; one before it changes nothing.
        const endsIt = plan.endAt >= plan.startAt;
        const session = await getSession(tc.ctx, sessionId);
        const order = s
          .report()
          .map((r) => r.label)
          .join(' → ');
        expect(session?.status, order).toBe(endsIt ? ENDINGS[plan.ending] : 'stalled');
        expect(session?.lastEventAt, order).toBe(at(endsIt ? plan.endAt : plan.startAt));
      }),
      // Each run is a real emulator run: the first counterexample and its interleaving are what a reader needs.
      { numRuns: NUM_RUNS, endOnFailure: true },
    );
  }, 240_000);
});
