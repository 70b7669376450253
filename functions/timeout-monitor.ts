// Lambda: the timeout monitor, on an EventBridge schedule (or a manual invocation).

import { createScheduledHandler } from '../shared/handler/scheduled-job.ts';
import { contextWithSettingsFromEnv } from '../shared/settings.ts';
import { runScheduledTimeoutMonitor } from '../shared/usecases/state-gauges.ts';

const ctx = contextWithSettingsFromEnv();

export const handler = createScheduledHandler(
  'timeout-monitor',
  () => ctx,
  // Each scheduled run also emits the state gauges (sending paused, bounce and complaint rates).
  (c, invocation) => runScheduledTimeoutMonitor(c, invocation),
);
