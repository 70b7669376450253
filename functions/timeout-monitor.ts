// Lambda: the timeout monitor, on an EventBridge schedule (or a manual invocation).

import { createScheduledHandler } from '../shared/handler/scheduled-job.ts';
import { contextWithSettingsFromEnv } from '../shared/settings.ts';
import { runTimeoutMonitor } from '../shared/usecases/timeout-monitor.ts';

const ctx = contextWithSettingsFromEnv();

export const handler = createScheduledHandler(
  'timeout-monitor',
  () => ctx,
  (c, invocation) => runTimeoutMonitor(c, invocation),
);
