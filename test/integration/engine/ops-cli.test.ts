import { describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../bin/ops.ts';
import { functionEnv } from '../../../local/local-env.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { registerSession } from '../../../shared/usecases/sessions.ts';
import { createTestContext } from '../../support/context.ts';
import { attemptItems, seedSessions, stalledSession } from '../../support/seed.ts';

/** Runs the CLI against the deployment named by env, as an operator's shell would, capturing stdout. */
async function cli(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await runCli(argv), out };
  } finally {
    write.mockRestore();
    err.mockRestore();
    process.env = saved;
  }
}

describe('ops CLI', () => {
  it('sweeps once against the tables named in env: --dry-run lists, a real run claims', async () => {
    // Prepare
    const { ctx, names, endpoints } = await createTestContext();
    const env = functionEnv(endpoints, names);
    await seedSessions(ctx, [stalledSession('cli-1', '2020-01-01T00:00:00.000Z')]);

    // Act
    const dry = await cli(env, 'sweep', '--once', '--dry-run');
    const attemptsAfterDry = (await attemptItems(ctx)).length;
    const real = await cli(env, 'sweep', '--once', '--limit', '10');

    // Assess
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/dry run: nothing changed/);
    expect(dry.out).toMatch(/would process: cli-1/);
    expect(attemptsAfterDry).toBe(0);
    expect(real.code).toBe(0);
    expect(real.out).toMatch(/claimed 1/);
    expect((await getSession(ctx, 'cli-1'))?.retryCount).toBe(1);
  });

  it('reset-stuck lists without --execute and times out with it; pause and status show the kill switch', async () => {
    // Prepare
    const { ctx, names, endpoints } = await createTestContext();
    const env = functionEnv(endpoints, names);
    await registerSession(
      ctx,
      {
        sessionId: 'cli-stuck',
        kind: 'transcription',
        status: 'processing',
        processingStartedAt: new Date(Date.now() - 3 * 3600_000).toISOString(),
      },
      { triggeredBy: 'test' },
    );

    // Act
    const listed = await cli(env, 'reset-stuck', '--older-than', '60');
    const statusAfterList = (await getSession(ctx, 'cli-stuck'))?.status;
    const executed = await cli(env, 'reset-stuck', '--older-than', '60', '--execute');
    const paused = await cli(env, 'pause', 'recovery-sweep', '--reason', 'incident');
    const status = await cli(env, 'status');

    // Assess
    expect(listed.out).toMatch(/1 stuck session\(s\) — dry run/);
    expect(listed.out).toMatch(/cli-stuck\s+18\d min/);
    expect(statusAfterList).toBe('processing');
    expect(executed.out).toMatch(/1 timed out/);
    expect((await getSession(ctx, 'cli-stuck'))?.status).toBe('timed_out');
    expect(paused.out).toMatch(/recovery-sweep is paused/);
    expect(status.out).toMatch(/recovery-sweep\s+PAUSED/);
    expect(status.out).toMatch(/dlq email\s+depth 0/);
  });

  it('refuses bad arguments with exit code 2 and a clear message, changing nothing', async () => {
    // Prepare
    const { names, endpoints } = await createTestContext();
    const env = functionEnv(endpoints, names);

    // Act / Assess
    await expect(cli(env, 'sweep')).rejects.toThrow(/pass --once/);
    await expect(cli(env, 'reset-stuck', '--older-than', 'soon')).rejects.toThrow(/older-than/);
    await expect(cli(env, 'pause', 'nightly-job')).rejects.toThrow(/name a job/);
    await expect(cli(env, 'frobnicate')).rejects.toThrow(/unknown command/);
  });
});
