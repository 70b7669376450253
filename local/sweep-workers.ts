// The local stand-in for the sweep Lambda invoking itself: a fan-out worker runs in this process, not
// awaited by the run that started it, exactly as an asynchronous invocation would run beside it. Its run
// record says how it ended; `settled()` lets a caller (the bench, a clean stop) wait for every worker.
import type { AppContext, SweepWork } from '../shared/context.ts';
import type { RunRecord } from '../shared/repositories/jobs.ts';
import { runRecoverySweep } from '../shared/usecases/recovery-sweep.ts';

export interface InProcessWorkers {
  readonly ctx: AppContext;
  /** Resolves when no worker is running (workers started meanwhile are waited for too). */
  settled(): Promise<void>;
}

export function withInProcessSweepWorkers(
  base: AppContext,
  onRun: (run: RunRecord) => void = () => {},
  onError: (error: unknown, work: SweepWork) => void = () => {},
): InProcessWorkers {
  const running = new Set<Promise<void>>();
  const ctx: AppContext = {
    ...base,
    startSweepWorker: async (work) => {
      const done = runRecoverySweep(ctx, { trigger: 'fan-out', worker: work })
        .then(onRun)
        .catch((error: unknown) => onError(error, work))
        .finally(() => running.delete(done));
      running.add(done);
    },
  };
  return {
    ctx,
    async settled() {
      while (running.size) await Promise.all([...running]);
    },
  };
}
