// Where the API's cursor key comes from: in AWS a Secrets Manager secret the stack generates, named by
// CURSOR_KEY_SECRET_NAME and read through the Parameters and Secrets extension (cached); locally CURSOR_KEY
// from the environment or .env (npm start makes a random one per run when unset). Never a value in code,
// in a template or in a function's environment in AWS.
import type { CursorKeySource } from '../context.ts';
import { optionalEnv } from '../env.ts';
import type { SecretReader } from '../senders/config.ts';
import { MIN_CURSOR_KEY_LENGTH } from './cursor.ts';

export const CURSOR_KEY_SECRET_NAME = 'CURSOR_KEY_SECRET_NAME';
export const CURSOR_KEY = 'CURSOR_KEY';

/** The key source of a deployed API function; throws at cold start when neither variable is set. */
export function cursorKeyFromEnv(env: NodeJS.ProcessEnv, readSecret: SecretReader): CursorKeySource {
  const secretName = optionalEnv(CURSOR_KEY_SECRET_NAME, env);
  const local = optionalEnv(CURSOR_KEY, env);
  if (!secretName && !local)
    throw new Error(
      `neither ${CURSOR_KEY_SECRET_NAME} nor ${CURSOR_KEY} is set: the API cannot sign cursors`,
    );
  return async () => {
    const key = secretName ? await readSecret(secretName) : local;
    if (key === undefined) throw new Error(`secret ${secretName} (${CURSOR_KEY_SECRET_NAME}) does not exist`);
    if (key.length < MIN_CURSOR_KEY_LENGTH)
      throw new Error(`the cursor key is shorter than ${MIN_CURSOR_KEY_LENGTH} characters`);
    return key;
  };
}
