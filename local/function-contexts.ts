// Each function of the stack, run locally under its own identity: its AppContext signs every DynamoDB and SQS
// call with the function's own key (judged by local IAM's gate, ./iam-gate.ts), and what is an AWS call in the
// cloud but runs in process here (an async Lambda invoke, a secret read) asks the same evaluator first.

import { createDynamoClient, createSqsClient } from '../shared/aws/clients.ts';
import type { AppContext } from '../shared/context.ts';
import type { SecretReader } from '../shared/senders/config.ts';
import { JobStartError, type JobStarter } from '../shared/usecases/job-start.ts';
import { inProcessJobStarter } from '../shared/usecases/job-start-local.ts';
import type { Endpoints } from './emulators.ts';
import { ALLOW_ALL, type Authorizer, functionCredentials, requireAllowed } from './iam-gate.ts';
import { LOCAL_ACCOUNT } from './local-env.ts';

export interface LocalIdentity {
  /** The gate's endpoints (or the emulators' with LOCAL_IAM=off). */
  readonly endpoints: Endpoints;
  /** The resource set's prefix (`local`, a test file's). */
  readonly prefix: string;
  /** Judges in-process stand-ins of AWS calls. @default everything allowed */
  readonly authorize?: Authorizer;
}

/** What Secrets Manager would call the secret `name` locally (its six random characters fixed). */
export function localSecretArn(region: string, name: string): string {
  return `arn:aws:secretsmanager:${region}:${LOCAL_ACCOUNT}:secret:${name}-LOCAL0`;
}

export function localFunctionArn(identity: LocalIdentity, functionId: string): string {
  return `arn:aws:lambda:${identity.endpoints.region}:${LOCAL_ACCOUNT}:function:${identity.prefix}-${functionId}`;
}

/** The name a function reads a secret by locally: `<prefix>/<suffix>`, as `session-recovery/<stage>/<suffix>` in AWS. */
export function localSecretName(identity: LocalIdentity, suffix: string): string {
  return `${identity.prefix}/${suffix}`;
}

/**
 * A function's secret reads: each one judged as `secretsmanager:GetSecretValue` on the secret's ARN for that
 * function, then answered from the values the local runtime holds (by secret name).
 */
export function judgedSecretReader(
  identity: LocalIdentity,
  functionId: string,
  values: ReadonlyMap<string, string>,
): SecretReader {
  const authorize = identity.authorize ?? ALLOW_ALL;
  return async (name) => {
    await requireAllowed(
      authorize,
      functionId,
      'secretsmanager:GetSecretValue',
      localSecretArn(identity.endpoints.region, name),
    );
    return values.get(name);
  };
}

/** Memoised per function: the base context with clients that sign with the function's key. */
export function functionContexts(
  base: AppContext,
  identity: LocalIdentity,
): (functionId: string) => AppContext {
  const made = new Map<string, AppContext>();
  const authorize = identity.authorize ?? ALLOW_ALL;
  return (functionId) => {
    let ctx = made.get(functionId);
    if (!ctx) {
      const credentials = functionCredentials(functionId);
      const endpoints = { ...identity.endpoints, credentials };
      const cursorKey = base.cursorKey;
      const cursorName = localSecretName(identity, 'cursor-key');
      ctx = {
        ...base,
        ddb: createDynamoClient(endpoints),
        sqs: createSqsClient(endpoints),
        // The API functions read the cursor key from Secrets Manager in AWS.
        ...(cursorKey
          ? {
              cursorKey: async () => {
                await requireAllowed(
                  authorize,
                  functionId,
                  'secretsmanager:GetSecretValue',
                  localSecretArn(identity.endpoints.region, cursorName),
                );
                return cursorKey();
              },
            }
          : {}),
      };
      made.set(functionId, ctx);
    }
    return ctx;
  };
}

/**
 * Run now without Lambda, judged as the async invoke it is in AWS: api-admin must be allowed
 * `lambda:InvokeFunction` on the job's function, and the run then goes on under the job function's identity.
 */
export function judgedJobStarter(
  identity: LocalIdentity,
  ctxFor: (functionId: string) => AppContext,
  caller = 'api-admin',
): { start: JobStarter; settled(): Promise<void> } {
  const authorize = identity.authorize ?? ALLOW_ALL;
  const sweep = inProcessJobStarter(ctxFor('recovery-sweep'));
  const monitor = inProcessJobStarter(ctxFor('timeout-monitor'));
  return {
    async start(job, event) {
      const decision = await authorize(caller, [
        { action: 'lambda:InvokeFunction', resources: [localFunctionArn(identity, job)] },
      ]);
      // The Lambda invoke answers 403 AccessDeniedException; the API reports it as a start that failed.
      if (!decision.allowed)
        throw new JobStartError(`Lambda refused to invoke ${job} (403): ${decision.message}`);
      await (job === 'recovery-sweep' ? sweep : monitor).start(job, event);
    },
    async settled() {
      await Promise.all([sweep.settled(), monitor.settled()]);
    },
  };
}

/** The sweep's fan-out, judged as the async invoke of itself it is in AWS. */
export function judgedSweepFanOut(identity: LocalIdentity, ctx: AppContext): AppContext {
  const start = ctx.startSweepWorker;
  if (!start) return ctx;
  const authorize = identity.authorize ?? ALLOW_ALL;
  return {
    ...ctx,
    startSweepWorker: async (work) => {
      await requireAllowed(
        authorize,
        'recovery-sweep',
        'lambda:InvokeFunction',
        localFunctionArn(identity, 'recovery-sweep'),
      );
      await start(work);
    },
  };
}
