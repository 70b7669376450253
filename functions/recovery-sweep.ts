// Lambda: the recovery sweep, on an EventBridge schedule (or a manual invocation). When the due backlog
// exceeds one run's limit it fans out: it invokes itself asynchronously once per shard group, each worker
// holding its shards' leases (the payload is checked like any other event).
import { invokeAsync } from '../shared/aws/lambda-invoke.ts';
import type { AppContext, SweepWork } from '../shared/context.ts';
import { createScheduledHandler } from '../shared/handler/scheduled-job.ts';
import { LAMBDA_ENDPOINT_ENV } from '../shared/infra/functions.ts';
import { contextWithSettingsFromEnv } from '../shared/settings.ts';
import { runRecoverySweep } from '../shared/usecases/recovery-sweep.ts';

const base = contextWithSettingsFromEnv();

async function startSweepWorker(work: SweepWork): Promise<void> {
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME;
  if (!functionName) throw new Error('AWS_LAMBDA_FUNCTION_NAME is not set: cannot invoke a sweep worker');
  const region = await base.ddb.config.region();
  await invokeAsync(
    {
      // CDK sets the partition's endpoint; the commercial one otherwise.
      endpoint: process.env[LAMBDA_ENDPOINT_ENV] ?? `https://lambda.${region}.amazonaws.com`,
      region,
      functionName,
      credentials: base.ddb.config.credentials,
    },
    { trigger: 'fan-out', parentRunId: work.parentRunId, shards: work.shards },
  );
}

const ctx: AppContext = { ...base, startSweepWorker };

export const handler = createScheduledHandler(
  'recovery-sweep',
  () => ctx,
  (c, invocation) => runRecoverySweep(c, invocation),
);
