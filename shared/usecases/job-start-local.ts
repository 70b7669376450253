// Run now without Lambda (the local runtime and the tests): the run goes on in the background of the same
// process, through the same runJob life as the schedule, exactly as the job's function would run it from
// the event the API sends; `settled()` waits for the runs started so far (a server stopping, a test).
import type { AppContext } from '../context.ts';
import { parseScheduledEvent } from '../handler/scheduled-event.ts';
import type { JobName } from '../infra/resources.ts';
import { logger } from '../observability/logger.ts';
import type { RunRecord } from '../repositories/jobs.ts';
import type { JobStarter } from './job-start.ts';
import { runRecoverySweep } from './recovery-sweep.ts';
import { runTimeoutMonitor } from './timeout-monitor.ts';

export interface InProcessJobStarter {
  readonly start: JobStarter;
  /** Resolves when every run started so far has ended (with its record). */
  settled(): Promise<void>;
}

export function inProcessJobStarter(ctx: AppContext): InProcessJobStarter {
  const running = new Set<Promise<unknown>>();
  const run = (job: JobName, event: unknown): Promise<RunRecord> => {
    const parsed = parseScheduledEvent(event);
    if (!parsed.ok) throw new Error(parsed.reason);
    return job === 'recovery-sweep'
      ? runRecoverySweep(ctx, parsed.invocation)
      : runTimeoutMonitor(ctx, parsed.invocation);
  };
  return {
    async start(job, event) {
      const pending = Promise.resolve()
        .then(() => run(job, event))
        .catch((error: unknown) => logger.error('a run started from the API failed', { job, error }))
        .finally(() => running.delete(pending));
      running.add(pending);
    },
    async settled() {
      while (running.size) await Promise.all([...running]);
    },
  };
}
