// Builds the CDK app from context: validated config, the stack, cdk-nag's AwsSolutions checks. bin/app.ts
// runs it for `cdk synth`; the infra tests call it with their own context.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ROUTES } from '../shared/api/routes.ts';
import { CONFIG_KEYS, parseConfig } from './config.ts';
import type { ApiRoute } from './constructs/admin-api.ts';
import { SessionRecoveryStack } from './session-recovery-stack.ts';

export interface CreateAppOptions {
  /** Context on top of cdk.json's (tests pass theirs here; `cdk synth` passes none). */
  readonly context?: Record<string, unknown>;
  /**
   * The admin API's routes; `null` leaves the API out (tests of other parts).
   * @default ROUTES of shared/api/routes.ts
   */
  readonly routes?: readonly ApiRoute[] | null;
  /**
   * Run cdk-nag's AwsSolutions checks at synth; synthesis fails on any unacknowledged finding.
   * @default true
   */
  readonly nag?: boolean;
  /**
   * Run CDK's built-in CloudFormation template validation at synth (a WASM rule engine: seconds per synth,
   * so tests leave it to `cdk synth`, which always runs it).
   * @default true
   */
  readonly cloudFormationValidation?: boolean;
}

export function createApp(options: CreateAppOptions = {}) {
  const app = new App({
    context: options.context,
    builtinCloudFormationValidation: options.cloudFormationValidation ?? true,
  });
  const context = Object.fromEntries(CONFIG_KEYS.map((key) => [key, app.node.tryGetContext(key)]));
  const config = parseConfig(context);
  const routes = options.routes === null ? undefined : (options.routes ?? ROUTES);
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const stack = new SessionRecoveryStack(app, `SessionRecovery-${config.stage}`, {
    config,
    routes,
    // Environment-agnostic unless the CLI resolved credentials: synth works offline.
    env: account && region ? { account, region } : undefined,
  });
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack, config };
}
