// Builds the CDK app from context: validated config, the stack, cdk-nag's AwsSolutions checks. bin/app.ts
// runs it for `cdk synth`; the infra tests call it with their own context.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { z } from 'zod';
import { CONFIG_KEYS, parseConfig } from './config.ts';
import type { ApiRoute } from './constructs/admin-api.ts';
import { REPO_ROOT } from './constructs/service-function.ts';
import { SessionRecoveryStack } from './session-recovery-stack.ts';

export const ROUTES_MODULE = path.join(REPO_ROOT, 'shared/api/routes.ts');

const RoutesSchema = z.array(
  z.looseObject({
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    path: z.string().startsWith('/'),
    access: z.enum(['read', 'write']),
  }),
);

/** The API's route table, or undefined while shared/api/routes.ts does not exist yet. */
export async function loadRoutes(modulePath = ROUTES_MODULE): Promise<ApiRoute[] | undefined> {
  if (!existsSync(modulePath)) return undefined;
  const mod = (await import(pathToFileURL(modulePath).href)) as { ROUTES?: unknown };
  const parsed = RoutesSchema.safeParse(mod.ROUTES);
  if (!parsed.success)
    throw new Error(
      `${path.relative(REPO_ROOT, modulePath)}: ROUTES is not a route table:\n${z.prettifyError(parsed.error)}`,
    );
  return parsed.data;
}

export interface CreateAppOptions {
  /** Context on top of cdk.json's (tests pass theirs here; `cdk synth` passes none). */
  readonly context?: Record<string, unknown>;
  /** @default - loaded from shared/api/routes.ts */
  readonly routes?: readonly ApiRoute[] | null;
  /**
   * Run cdk-nag's AwsSolutions checks (synthesis fails on any unacknowledged finding) and CDK's built-in
   * CloudFormation validation at synth. Template tests turn both off for speed; one test runs them.
   * @default true
   */
  readonly validate?: boolean;
}

export async function createApp(options: CreateAppOptions = {}) {
  const validate = options.validate ?? true;
  const app = new App({ context: options.context, builtinCloudFormationValidation: validate });
  const context = Object.fromEntries(CONFIG_KEYS.map((key) => [key, app.node.tryGetContext(key)]));
  const config = parseConfig(context);
  const routes = options.routes === null ? undefined : (options.routes ?? (await loadRoutes()));
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const stack = new SessionRecoveryStack(app, `SessionRecovery-${config.stage}`, {
    config,
    routes,
    // Environment-agnostic unless the CLI resolved credentials: synth works offline.
    env: account && region ? { account, region } : undefined,
  });
  if (validate) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack, config };
}
