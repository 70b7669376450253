// Lambda: the recovery sweep, on an EventBridge schedule (or a manual invocation).

import { createScheduledHandler } from '../shared/handler/scheduled-job.ts';
import { contextWithSettingsFromEnv } from '../shared/settings.ts';
import { runRecoverySweep } from '../shared/usecases/recovery-sweep.ts';

const ctx = contextWithSettingsFromEnv();

export const handler = createScheduledHandler(
  'recovery-sweep',
  () => ctx,
  (c, invocation) => runRecoverySweep(c, invocation),
);
