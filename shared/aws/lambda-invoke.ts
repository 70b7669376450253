// An asynchronous Lambda invocation (`InvocationType: Event`) as one Invoke REST call signed with the SDK's
// own SigV4 signer: the admin API's run now (a job's function) and the sweep's fan-out (itself). Not the
// Lambda client: it would put either function over its bundle budget for this one call. CDK sets the
// partition's endpoint (`LAMBDA_ENDPOINT`) and the function names, and grants lambda:InvokeFunction on
// exactly the functions each may start (lib/session-recovery-stack.ts).
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import { requireEnv } from '../env.ts';
import { jobFunctionEnvVar, LAMBDA_ENDPOINT_ENV } from '../infra/functions.ts';
import type { JobName } from '../infra/resources.ts';
import { JobStartError, type JobStarter } from '../usecases/job-start.ts';
import { NodeSha256 } from './node-sha256.ts';

export { JobStartError };

export interface InvokeTarget {
  /** The partition's Lambda endpoint, e.g. `https://lambda.eu-west-1.amazonaws.com`. */
  readonly endpoint: string;
  readonly region: string;
  readonly functionName: string;
  readonly credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
}

/** Queues an invocation of the function with `payload`; throws JobStartError unless Lambda accepted it (202). */
export async function invokeAsync(
  target: InvokeTarget,
  payload: unknown,
  fetcher: typeof fetch = fetch,
): Promise<void> {
  const endpoint = new URL(target.endpoint);
  const signer = new SignatureV4({
    service: 'lambda',
    region: target.region,
    credentials: target.credentials,
    sha256: NodeSha256,
  });
  const path = `/2015-03-31/functions/${encodeURIComponent(target.functionName)}/invocations`;
  const body = JSON.stringify(payload);
  const signed = await signer.sign({
    method: 'POST',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
    path,
    query: {},
    headers: {
      host: endpoint.host,
      'content-type': 'application/json',
      'x-amz-invocation-type': 'Event',
    },
    body,
  });
  const res = await fetcher(new URL(path, endpoint), {
    method: 'POST',
    headers: signed.headers,
    body,
    signal: AbortSignal.timeout(5000),
  }).catch((error: unknown) => {
    throw new JobStartError(`Lambda did not answer the invoke of ${target.functionName}: ${String(error)}`);
  });
  // An asynchronous invocation is accepted with 202; anything else started nothing.
  if (res.status !== 202) {
    const detail = (await res.text().catch(() => '')).slice(0, 300);
    throw new JobStartError(`Lambda refused to invoke ${target.functionName} (${res.status}): ${detail}`);
  }
}

export function lambdaJobStarter(
  env: NodeJS.ProcessEnv,
  credentials: Provider<AwsCredentialIdentity>,
  fetcher: typeof fetch = fetch,
): JobStarter {
  const endpoint = requireEnv(LAMBDA_ENDPOINT_ENV, env);
  const region = requireEnv('AWS_REGION', env);
  const functions = {
    'recovery-sweep': requireEnv(jobFunctionEnvVar('recovery-sweep'), env),
    'timeout-monitor': requireEnv(jobFunctionEnvVar('timeout-monitor'), env),
  } satisfies Record<JobName, string>;
  return (job, event) =>
    invokeAsync({ endpoint, region, credentials, functionName: functions[job] }, event, fetcher);
}
