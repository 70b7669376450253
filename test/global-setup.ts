// Starts the emulators once for the whole test run; every test file makes its own tables and queues.
import type { TestProject } from 'vitest/node';
import { type Endpoints, startEmulators } from '../local/emulators.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: Endpoints;
  }
}

export default async function setup(project: TestProject) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const emulators = await startEmulators();
  project.provide('endpoints', emulators.endpoints);
  return async () => {
    await emulators.stop();
  };
}
