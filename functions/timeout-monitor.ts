// Lambda: the timeout monitor, on an EventBridge schedule (or a manual invocation).
import { contextFromEnv } from '../shared/context.ts';
import { createScheduledHandler } from '../shared/handler/scheduled-job.ts';
import { runTimeoutMonitor } from '../shared/usecases/timeout-monitor.ts';

const ctx = contextFromEnv();

export const handler = createScheduledHandler(
  'timeout-monitor',
  () => ctx,
  (c, invocation) => runTimeoutMonitor(c, invocation),
);
