// `npm start` settings, from env (and an untracked .env), validated; the defaults work as they are.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { REPO_ROOT } from './local-env.ts';

const port = z.coerce.number().int().min(0).max(65535);

export const LocalConfigSchema = z.object({
  PORT: port.default(3000),
  DYNAMODB_PORT: port.default(0),
  SQS_PORT: port.default(0),
  SES_PORT: port.default(0),
  SWEEP_INTERVAL_SECONDS: z.coerce.number().min(1).max(3600).optional(),
  MONITOR_INTERVAL_SECONDS: z.coerce.number().min(1).max(3600).optional(),
  DEMO: z.enum(['true', 'false']).default('true'),
  /** Stop by itself after this many seconds (0 = run until Ctrl-C); handy for scripted demos. */
  RUN_SECONDS: z.coerce.number().min(0).default(0),
});
export type LocalConfig = z.infer<typeof LocalConfigSchema>;

export function loadLocalConfig(env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const dotenv = join(REPO_ROOT, '.env');
  if (existsSync(dotenv)) process.loadEnvFile(dotenv);
  const parsed = LocalConfigSchema.safeParse(env);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid local configuration: ${detail}`);
  }
  return parsed.data;
}
