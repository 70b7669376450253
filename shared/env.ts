// Environment read once, loudly: a misconfigured function fails at cold start, never with `|| ''`.

class MissingEnvError extends Error {
  constructor(name: string) {
    super(`environment variable ${name} is required and not set`);
    this.name = 'MissingEnvError';
  }
}

export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new MissingEnvError(name);
  return value;
}

export function optionalEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}
