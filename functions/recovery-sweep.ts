// Lambda: the recovery sweep, on an EventBridge schedule (or a manual invocation).
import { contextFromEnv } from '../shared/context.ts';
import { createScheduledHandler } from '../shared/handler/scheduled-job.ts';
import { runRecoverySweep } from '../shared/usecases/recovery-sweep.ts';

const ctx = contextFromEnv();

export const handler = createScheduledHandler(
  'recovery-sweep',
  () => ctx,
  (c, invocation) => runRecoverySweep(c, invocation),
);
