/// <reference lib="dom" />
// The session actions (retry now, pause/resume, override the next retry, recover a timed-out session):
// each asks for a reason, sends If-Match with the version the page read, and says how it ended.
import { call } from './api.ts';
import { h } from './dom.ts';
import type { PageContext } from './main.ts';
import { openDialog, reasonInput } from './ui.ts';

export interface SessionView {
  sessionId: string;
  kind: string;
  status: string;
  orgId?: string;
  policyId?: string;
  version: number;
  retryCount: number;
  maxRetries?: number;
  nextRetryAt?: string;
  lastAttemptAt?: string;
  updatedAt: string;
  createdAt: string;
  contact?: Record<string, string>;
  deadlineAt?: string;
  timedOutAt?: string;
  error?: string;
  recoveryState: { paused: boolean; nextRetryAt: string | null; overrideNextRetryAt: string | null };
}

type Report = { ok(text: string | Node): void };

const id = (s: SessionView) => encodeURIComponent(s.sessionId);

export function retryNow(s: SessionView, ctx: PageContext, report: Report): void {
  openDialog({
    title: `Retry ${s.sessionId} now`,
    description: `An attempt is made now, through the same claim as the sweep (attempt ${s.retryCount + 1}${s.maxRetries ? ` of ${s.maxRetries}` : ''}). Version ${s.version} is sent as If-Match: if the session changed meanwhile, nothing happens.`,
    fields: [{ name: 'reason', label: 'Reason', input: reasonInput() }],
    confirm: 'Retry now',
    run: async ({ reason }) => {
      const res = await call<{ attemptId: string; number: number; channels: string[]; dispatched: boolean }>(
        'POST',
        `/sessions/${id(s)}/retry-now`,
        { body: { reason }, ifMatch: s.version },
      );
      const a = res.body;
      report.ok(
        `Attempt ${a.number} (${a.attemptId}) made for ${s.sessionId} → ${a.channels.join(', ')}. ${a.dispatched ? 'Its messages are on their queues; outcomes appear below as the senders report.' : 'Recorded; the next sweep publishes it.'}`,
      );
      ctx.watch(20);
      await ctx.refresh();
    },
  });
}

export function setPaused(s: SessionView, paused: boolean, ctx: PageContext, report: Report): void {
  const verb = paused ? 'Pause' : 'Resume';
  openDialog({
    title: `${verb} ${s.sessionId}`,
    description: paused
      ? 'The sweep leaves this session alone until it is resumed; its next retry is kept.'
      : 'The sweep retries this session again at its next retry.',
    fields: [{ name: 'reason', label: 'Reason', input: reasonInput() }],
    confirm: verb,
    run: async ({ reason }) => {
      await call('POST', `/sessions/${id(s)}/${paused ? 'pause' : 'resume'}`, {
        body: { reason },
        ifMatch: s.version,
      });
      report.ok(`${s.sessionId} ${paused ? 'paused' : 'resumed'}.`);
      await ctx.refresh();
    },
  });
}

export function overrideNextRetry(s: SessionView, ctx: PageContext, report: Report): void {
  const at = h('input', { type: 'datetime-local', step: 1, required: true });
  const inOneHour = new Date(Date.now() + 3_600_000);
  at.value = inOneHour.toISOString().slice(0, 19);
  openDialog({
    title: `Override the next retry of ${s.sessionId}`,
    description:
      'The next attempt happens at this time (UTC) instead of the schedule’s. An exhausted session gets a fresh budget.',
    fields: [
      { name: 'at', label: 'Next retry at (UTC)', input: at },
      { name: 'reason', label: 'Reason', input: reasonInput() },
    ],
    confirm: 'Override next retry',
    run: async ({ at: value, reason }) => {
      const iso = new Date(`${value}Z`).toISOString();
      await call('POST', `/sessions/${id(s)}/regenerate`, {
        body: { overrideNextRetryAt: iso, reason },
        ifMatch: s.version,
      });
      report.ok(`The next retry of ${s.sessionId} is now at ${iso}.`);
      await ctx.refresh();
    },
  });
}

export function recoverTimedOut(s: SessionView, ctx: PageContext, report: Report): void {
  openDialog({
    title: `Recover ${s.sessionId}`,
    description: 'The timed-out session goes back to processing with a new deadline.',
    fields: [{ name: 'reason', label: 'Reason', input: reasonInput() }],
    confirm: 'Recover session',
    run: async ({ reason }) => {
      await call('POST', `/sessions/${id(s)}/recover`, { body: { reason }, ifMatch: s.version });
      report.ok(`${s.sessionId} is processing again, with a new deadline.`);
      await ctx.refresh();
    },
  });
}
