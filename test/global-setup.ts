// Starts the emulators once for the whole test run; every test file makes its own tables and queues. Local
// IAM's gate stands in front of them (LOCAL_IAM=off leaves it out): the stack is synthesized once here, and
// every request a function's key signs is judged against that function's role. What the gate allowed, per
// function, is written to .local/iam-usage.json at the end (`npm run iam-report` reads it).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type Endpoints, startEmulators } from '../local/emulators.ts';
import { type IamGate, startIamGate } from '../local/iam-gate.ts';
import { IAM_USAGE_FILE } from '../local/iam-report.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: Endpoints;
    /** `enforced` when the gate judges every function's calls, `off` with LOCAL_IAM=off. */
    localIam: 'enforced' | 'off';
  }
}

export default async function setup(project: TestProject) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const emulators = await startEmulators();
  let gate: IamGate | undefined;
  if (process.env.LOCAL_IAM !== 'off') {
    try {
      const started = Date.now();
      const { synthesizeFunctionPolicies } = await import('../local/iam-policies.ts');
      const policies = synthesizeFunctionPolicies(emulators.endpoints.region);
      const synthMs = Date.now() - started;
      gate = await startIamGate({
        upstream: emulators.endpoints,
        policies,
        onDenied: (d) => process.stderr.write(`iam  denied ${d.functionId} ${d.action} ${d.resource}\n`),
      });
      process.stderr.write(
        `iam  enforced from the synthesized template for ${Object.keys(policies.functions).length} functions (synthesized in ${synthMs} ms)\n`,
      );
    } catch (error) {
      await emulators.stop();
      throw error;
    }
  }
  project.provide('endpoints', gate?.endpoints ?? emulators.endpoints);
  project.provide('localIam', gate ? 'enforced' : 'off');
  return async () => {
    if (gate) {
      mkdirSync(dirname(IAM_USAGE_FILE), { recursive: true });
      writeFileSync(
        IAM_USAGE_FILE,
        `${JSON.stringify({ writtenAt: new Date().toISOString(), allowed: gate.usage(), denied: gate.denials() }, null, 2)}\n`,
      );
      await gate.stop();
    }
    await emulators.stop();
  };
}
