/// <reference lib="dom" />
// Jobs and runs: every job's state with pause/resume (with a reason), run now (a dry run first, showing what
// would be claimed, then the real run), and the run history with counts and durations. Run now is
// asynchronous (202 with the run id): the page waits for the run's record to appear in the run history.
import { call, get, qs } from '../api.ts';
import { badge, field, h, table, time } from '../dom.ts';
import type { Page, PageContext } from '../main.ts';
import { messageArea, openDialog, READ_ONLY, reasonInput } from '../ui.ts';
import { type JobState, jobsTable } from './overview.ts';

interface Run {
  runId: string;
  job: string;
  trigger: string;
  dryRun: boolean;
  status: string;
  reason?: string;
  error?: string;
  startedAt: string;
  durationMs: number;
  counts: Record<string, number>;
  wouldProcess?: string[];
  problems: Array<{ sessionId?: string; reason: string }>;
}

interface RunStarted {
  runId: string;
  job: string;
}

/** How long the page waits for a started run's record: longer than a job function's timeout. */
const RUN_WAIT_MS = 150_000;

/** Polls the run history until the started run's record is there (it is written when the run ends). */
async function awaitRun(started: RunStarted, progress: (text: string) => void): Promise<Run> {
  const until = Date.now() + RUN_WAIT_MS;
  for (let i = 0; Date.now() < until; i++) {
    const page = await get<{ items: Run[] }>(`/admin/runs${qs({ job: started.job, limit: 25 })}`);
    const found = page.items.find((r) => r.runId === started.runId);
    if (found) return found;
    progress(`${started.job} run ${started.runId} started; waiting for its record…`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** i, 5000)));
  }
  throw new Error(`no record of run ${started.runId} after ${RUN_WAIT_MS / 1000} s: see the run history`);
}

/** The last dry run per job, kept across refreshes until the real run or another dry run. */
const dryRuns = new Map<string, Run>();
const lastRuns = new Map<string, Run>();

function counts(c: Record<string, number>): string {
  return (
    Object.entries(c)
      .filter(([, v]) => v)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'nothing'
  );
}

function runSummary(run: Run): HTMLElement {
  return h(
    'div',
    { class: 'run-result' },
    h(
      'p',
      {},
      badge(run.status),
      ` ${run.job} ${run.dryRun ? 'dry run' : 'run'} ${run.runId}: ${counts(run.counts)} (${run.durationMs} ms)${run.reason ? ` — ${run.reason}` : ''}${run.error ? ` — ${run.error}` : ''}`,
    ),
    run.wouldProcess?.length
      ? h(
          'div',
          {},
          h(
            'p',
            {},
            `${run.job === 'recovery-sweep' ? 'Would claim' : 'Would time out or check'} ${run.wouldProcess.length} session(s):`,
          ),
          h(
            'ul',
            { class: 'inline-list' },
            run.wouldProcess
              .slice(0, 50)
              .map((id) => h('li', {}, h('a', { href: `/console/sessions/${encodeURIComponent(id)}` }, id))),
          ),
        )
      : run.dryRun
        ? h('p', {}, 'Nothing would be claimed now.')
        : null,
    run.problems.length
      ? h(
          'ul',
          {},
          run.problems.slice(0, 10).map((p) => h('li', {}, `${p.sessionId ?? ''}: ${p.reason}`)),
        )
      : null,
  );
}

function pauseOrResume(job: JobState, ctx: PageContext, report: ReturnType<typeof messageArea>): void {
  const verb = job.paused ? 'Resume' : 'Pause';
  openDialog({
    title: `${verb} ${job.name}`,
    description: job.paused
      ? 'The job runs again at its next schedule.'
      : 'Kill switch: the job skips its runs until resumed. Nothing is deployed.',
    fields: [{ name: 'reason', label: 'Reason', input: reasonInput() }],
    confirm: `${verb} ${job.name}`,
    danger: !job.paused,
    run: async ({ reason }) => {
      await call('POST', `/admin/jobs/${job.name}/${job.paused ? 'resume' : 'pause'}`, { body: { reason } });
      report.ok(`${job.name} ${job.paused ? 'resumed' : 'paused'}.`);
      await ctx.refresh();
    },
  });
}

export const jobsPage: Page = {
  title: 'Jobs and runs',
  refreshSeconds: 15,
  async render(ctx) {
    const jobFilter = ctx.params.get('job') ?? '';
    const messages = messageArea('jobs-messages');
    const [status, runs] = await Promise.all([
      get<{ jobs: JobState[] }>('/admin/jobs/status'),
      get<{ items: Run[] }>(`/admin/runs${qs({ job: jobFilter, limit: 25 })}`),
    ]);
    const controls = READ_ONLY
      ? null
      : status.jobs.map((job) => {
          const limit = h('input', {
            id: `limit-${job.name}`,
            type: 'number',
            min: 1,
            max: 10000,
            placeholder: 'default',
          });
          const dry = dryRuns.get(job.name);
          const last = lastRuns.get(job.name);
          const runAction = async (dryRun: boolean) => {
            try {
              const body: Record<string, unknown> = { dryRun };
              if (limit.value) body.limit = Number(limit.value);
              const res = await call<RunStarted>('POST', `/admin/jobs/${job.name}/run`, { body });
              const run = await awaitRun(res.body, (text) => messages.ok(text));
              if (dryRun) dryRuns.set(job.name, run);
              else {
                dryRuns.delete(job.name);
                lastRuns.set(job.name, run);
              }
              await ctx.refresh();
            } catch (error) {
              messages.fail(error);
            }
          };
          return h(
            'section',
            { class: 'card', 'aria-labelledby': `h-run-${job.name}` },
            h(
              'h3',
              { id: `h-run-${job.name}` },
              job.name,
              ' ',
              job.paused ? badge('paused') : badge('running'),
            ),
            h(
              'div',
              { class: 'actions' },
              h(
                'button',
                { type: 'button', id: `pause-${job.name}`, onclick: () => pauseOrResume(job, ctx, messages) },
                job.paused ? `Resume ${job.name}` : `Pause ${job.name}`,
              ),
            ),
            h(
              'div',
              { class: 'filters' },
              field('Limit', limit),
              h(
                'button',
                { type: 'button', id: `dry-${job.name}`, onclick: () => void runAction(true) },
                `Dry run ${job.name}`,
              ),
              dry
                ? h(
                    'button',
                    {
                      type: 'button',
                      id: `run-${job.name}`,
                      class: 'danger',
                      onclick: () => void runAction(false),
                    },
                    `Run ${job.name} now`,
                  )
                : null,
            ),
            dry
              ? h('div', { role: 'status' }, h('h4', {}, 'Dry run: nothing changed'), runSummary(dry))
              : h('p', { class: 'hint' }, 'Run now starts with a dry run that shows what would be claimed.'),
            last ? h('div', { role: 'status' }, h('h4', {}, 'Last run from here'), runSummary(last)) : null,
          );
        });
    const jobSelect = h(
      'select',
      { id: 'runs-job' },
      h('option', { value: '' }, 'all jobs'),
      status.jobs.map((j) =>
        h('option', { value: j.name, ...(j.name === jobFilter ? { selected: true } : {}) }, j.name),
      ),
    );
    return h(
      'div',
      {},
      h('h1', {}, 'Jobs and runs'),
      messages.el,
      jobsTable(status.jobs),
      controls ? h('div', { class: 'cards' }, controls) : null,
      h(
        'section',
        { 'aria-labelledby': 'h-runs' },
        h('h2', { id: 'h-runs' }, 'Run history'),
        h(
          'form',
          {
            class: 'filters',
            onsubmit: (e: Event) => {
              e.preventDefault();
              ctx.setParams({ job: jobSelect.value });
            },
          },
          field('Job', jobSelect),
          h('button', { type: 'submit' }, 'Show runs'),
        ),
        table(
          ['started', 'job', 'trigger', 'status', 'counts', 'duration'],
          runs.items.map((r) => [
            time(r.startedAt),
            r.job,
            `${r.trigger}${r.dryRun ? ' (dry run)' : ''}`,
            h('span', {}, badge(r.status), r.reason ? ` ${r.reason}` : '', r.error ? ` ${r.error}` : ''),
            counts(r.counts),
            `${r.durationMs} ms`,
          ]),
          `Latest ${runs.items.length} run(s)`,
        ),
      ),
    );
  },
};
