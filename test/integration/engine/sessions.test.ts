// The product's and operators' session writes against the emulators: idempotent registration, the sparse
// due index kept in step with the state, optimistic concurrency, and timeline events in the same transaction.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../shared/context.ts';
import { ConflictError, VersionMismatchError } from '../../../shared/domain/errors.ts';
import { DEFAULT_POLICY } from '../../../shared/domain/retry-policy.ts';
import { IllegalTransitionError } from '../../../shared/domain/session.ts';
import { queryShard, saveSession, shardOf } from '../../../shared/repositories/sessions.ts';
import {
  type RegisterSessionInput,
  registerSession,
  setSessionPaused,
  updateSession,
} from '../../../shared/usecases/sessions.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { scanAll } from '../../support/seed.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const product = { triggeredBy: 'product' };
const ops = { triggeredBy: 'ops@example.com', reason: 'customer asked' };

// One set of tables for the file: every test uses its own session ids.
const clock = manualClock(T0);
let ctx: AppContext;
beforeAll(async () => {
  ({ ctx } = await createTestContext({ clock: clock.clock, shards: 4 }));
});

function checkout(sessionId: string, extra: Partial<RegisterSessionInput> = {}): RegisterSessionInput {
  return {
    sessionId,
    kind: 'checkout',
    status: 'stalled',
    contact: { email: `${sessionId}@example.com`, timezone: 'Europe/Paris' },
    recoveryUrl: `https://shop.example.com/recover/${sessionId}`,
    metadata: { cart: { items: 2, total: 59.9 } },
    ...extra,
  };
}

async function stored(sessionId: string): Promise<Record<string, unknown> | undefined> {
  const res = await ctx.ddb.send(
    new GetCommand({ TableName: ctx.tables.sessions, Key: { sessionId }, ConsistentRead: true }),
  );
  return res.Item;
}

async function events(sessionId: string): Promise<Array<Record<string, unknown>>> {
  return (await scanAll(ctx, ctx.tables.timeline)).filter((e) => e.sessionId === sessionId);
}

async function dueIds(shard: string, upTo: string): Promise<string[]> {
  const page = await queryShard(ctx, {
    table: ctx.tables.sessions,
    index: 'due',
    shardAttr: 'dueShard',
    sortAttr: 'nextRetryAt',
    shard,
    upTo,
    limit: 100,
  });
  return page.items.map((i) => String(i.sessionId));
}

describe('registerSession', () => {
  it('is idempotent: the same body twice creates one session; other content is a conflict', async () => {
    // Prepare
    const body = checkout('reg-1');

    // Act
    const first = await registerSession(ctx, body, product);
    const again = await registerSession(ctx, structuredClone(body), product);
    const other = await registerSession(ctx, { ...body, kind: 'subscription' }, product).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(first.created).toBe(true);
    expect(again).toEqual({ created: false, session: first.session });
    expect(other).toBeInstanceOf(ConflictError);
    expect((other as ConflictError).current).toMatchObject({ sessionId: 'reg-1', kind: 'checkout' });
    const items = (await scanAll(ctx, ctx.tables.sessions)).filter((s) => s.sessionId === 'reg-1');
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ version: 0, kind: 'checkout' });
    expect((await events('reg-1')).map((e) => e.type)).toEqual(['registered']);
  });

  it('is idempotent under a retried request: two identical registrations at once both succeed, one creates', async () => {
    // Prepare
    const body = checkout('reg-race-1');

    // Act
    const results = await Promise.allSettled([
      registerSession(ctx, body, product),
      registerSession(ctx, structuredClone(body), product),
    ]);

    // Assess
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status))).toEqual([
      'fulfilled',
      'fulfilled',
    ]);
    const created = results.map((r) => (r.status === 'fulfilled' ? r.value.created : undefined));
    expect(created.sort()).toEqual([false, true]);
    expect((await events('reg-race-1')).map((e) => e.type)).toEqual(['registered']);
  });

  it('a stalled session gets nextRetryAt = now + delay(1) and is in the due index', async () => {
    // Prepare
    clock.set(T0);

    // Act
    const { session } = await registerSession(ctx, checkout('due-1'), product);

    // Assess
    const shard = shardOf('due-1', ctx.shards);
    expect(session).toMatchObject({
      status: 'stalled',
      retryCount: 0,
      maxRetries: DEFAULT_POLICY.maxRetries,
      policyId: DEFAULT_POLICY.policyId,
      nextRetryAt: '2026-03-02T11:00:00.000Z', // default policy: 3600 s, no jitter, no quiet hours
      dueShard: shard,
    });
    expect(await stored('due-1')).toEqual(session);
    expect(await dueIds(shard, '2026-03-02T11:00:00.000Z')).toContain('due-1');
    expect(await dueIds(shard, '2026-03-02T10:59:59.999Z')).not.toContain('due-1');
  });

  it('an active or processing session is not in the due index', async () => {
    // Act
    const { session: active } = await registerSession(ctx, checkout('act-1', { status: 'active' }), product);
    const { session: busy } = await registerSession(
      ctx,
      checkout('proc-1', { status: 'processing' }),
      product,
    );

    // Assess
    expect(active.dueShard).toBeUndefined();
    expect(active.nextRetryAt).toBeUndefined();
    expect(busy.dueShard).toBeUndefined();
    expect(busy.deadlineShard).toBe(shardOf('proc-1', ctx.shards));
  });
});

describe('updateSession and pause/resume', () => {
  it.each(['recovered', 'completed', 'cancelled'] as const)(
    'stalled → %s removes dueShard and nextRetryAt, with a status_changed event',
    async (status) => {
      // Prepare
      const id = `end-${status}`;
      await registerSession(ctx, checkout(id), product);

      // Act
      const saved = await updateSession(ctx, id, { status }, product, 0);

      // Assess
      const item = await stored(id);
      expect(item).toMatchObject({ status, version: 1 });
      expect(item).not.toHaveProperty('dueShard');
      expect(item).not.toHaveProperty('nextRetryAt');
      expect(saved).toEqual(item);
      expect(await dueIds(shardOf(id, ctx.shards), '2099-01-01T00:00:00.000Z')).not.toContain(id);
      expect((await events(id)).find((e) => e.type === 'status_changed')).toMatchObject({
        from: 'stalled',
        to: status,
        triggeredBy: 'product',
      });
    },
  );

  it('pause leaves the due index but keeps nextRetryAt; resume puts it back', async () => {
    // Prepare
    const { session } = await registerSession(ctx, checkout('pause-1'), product);
    const shard = shardOf('pause-1', ctx.shards);

    // Act
    clock.advance(1000);
    const paused = await setSessionPaused(ctx, 'pause-1', true, ops, 0);
    const dueWhilePaused = await dueIds(shard, '2099-01-01T00:00:00.000Z');
    clock.advance(1000);
    const resumed = await setSessionPaused(ctx, 'pause-1', false, ops, 1);
    const dueAfterResume = await dueIds(shard, '2099-01-01T00:00:00.000Z');

    // Assess
    expect(paused).toMatchObject({
      version: 1,
      nextRetryAt: session.nextRetryAt,
      automation: { paused: true },
    });
    expect(paused.dueShard).toBeUndefined();
    expect(dueWhilePaused).not.toContain('pause-1');
    expect(resumed).toMatchObject({ version: 2, nextRetryAt: session.nextRetryAt, dueShard: shard });
    expect(resumed.automation).toMatchObject({ paused: false, triggeredBy: 'ops@example.com' });
    expect(dueAfterResume).toContain('pause-1');
    expect((await events('pause-1')).map((e) => e.type)).toEqual(['registered', 'paused', 'resumed']);
    expect((await events('pause-1')).find((e) => e.type === 'paused')).toMatchObject({
      triggeredBy: 'ops@example.com',
      reason: 'customer asked',
    });
  });

  it('a stale If-Match version is refused with VersionMismatchError and writes nothing', async () => {
    // Prepare
    await registerSession(ctx, checkout('match-1'), product);
    await updateSession(ctx, 'match-1', { metadata: { note: 'first' } }, product, 0);
    const before = await stored('match-1');

    // Act
    const update = await updateSession(ctx, 'match-1', { status: 'cancelled' }, product, 0).catch(
      (e: unknown) => e,
    );
    const pause = await setSessionPaused(ctx, 'match-1', true, ops, 0).catch((e: unknown) => e);

    // Assess
    expect(update).toBeInstanceOf(VersionMismatchError);
    expect(update).toMatchObject({ code: 'version_mismatch', expected: 0, actual: 1 });
    expect(pause).toBeInstanceOf(VersionMismatchError);
    expect(await stored('match-1')).toEqual(before);
    expect((await events('match-1')).map((e) => e.type)).toEqual(['registered']);
  });

  it('an illegal status change is refused and writes nothing', async () => {
    // Prepare
    await registerSession(ctx, checkout('illegal-1'), product);
    await updateSession(ctx, 'illegal-1', { status: 'completed' }, product);
    const before = await stored('illegal-1');

    // Act
    const result = await updateSession(ctx, 'illegal-1', { status: 'stalled' }, product).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(result).toBeInstanceOf(IllegalTransitionError);
    expect(await stored('illegal-1')).toEqual(before);
  });

  it('every write increments version by exactly 1', async () => {
    // Prepare
    const versions: number[] = [];
    const track = async (write: Promise<{ version: number }>) => {
      versions.push((await write).version);
      versions.push((await stored('ver-1'))?.version as number);
    };

    // Act
    await track(registerSession(ctx, checkout('ver-1'), product).then((r) => r.session));
    await track(updateSession(ctx, 'ver-1', { contact: { name: 'Ada' } }, product));
    await track(setSessionPaused(ctx, 'ver-1', true, ops));
    await track(setSessionPaused(ctx, 'ver-1', false, ops));
    await track(updateSession(ctx, 'ver-1', { status: 'recovering' }, product));
    await track(updateSession(ctx, 'ver-1', { status: 'recovered' }, product));
    await track(updateSession(ctx, 'ver-1', { status: 'completed' }, product));

    // Assess
    expect(versions).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
  });

  it('timeline events commit with the session write or not at all', async () => {
    // Prepare
    const { session } = await registerSession(ctx, checkout('tx-1'), product);
    clock.advance(1000);
    await updateSession(ctx, 'tx-1', { status: 'recovered' }, product);
    const at = clock.clock().toISOString();

    // Act: a writer that read version 0 loses, and its event must not be left behind.
    const lost = await saveSession(ctx, {
      previous: session,
      next: { ...session, status: 'cancelled' },
      events: [{ type: 'status_changed', from: 'stalled', to: 'cancelled', at, triggeredBy: 'stale-writer' }],
    }).catch((e: unknown) => e);

    // Assess
    expect(lost).toBeInstanceOf(ConflictError);
    expect((lost as ConflictError).current).toMatchObject({ status: 'recovered', version: 1 });
    const written = await events('tx-1');
    expect(written.map((e) => [e.type, e.to])).toEqual([
      ['registered', undefined],
      ['status_changed', 'recovered'],
    ]);
    expect(written.some((e) => e.triggeredBy === 'stale-writer')).toBe(false);
  });
});
