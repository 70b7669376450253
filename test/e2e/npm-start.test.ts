// `npm start` as a person uses it: the first attempt shows within 60 s, the first timeout within 90 s,
// and Ctrl-C (SIGINT) stops everything, leaving no emulator process or open port behind.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/local-env.ts';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** DynamoDB Local's java processes on the port. pgrep exits 1 for "none"; anything else is an error, not "none". */
function javaPids(port: number, pgrep = 'pgrep'): string[] {
  try {
    return execFileSync(pgrep, ['-f', `DynamoDBLocal.jar.*-port ${port}`], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean);
  } catch (error) {
    if ((error as { status?: number }).status === 1) return [];
    throw new Error(`cannot tell whether DynamoDB Local is still running (pgrep failed): ${String(error)}`);
  }
}

/** Waits for `pattern`; resolves with the time since `origin` (the start), and fails past `ms` after it. */
function waitFor(
  child: ChildProcess,
  output: { text: string },
  pattern: RegExp,
  ms: number,
  origin: number,
): Promise<number> {
  const started = origin;
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (pattern.test(output.text)) {
        clearInterval(timer);
        resolve(Date.now() - started);
      } else if (Date.now() - started > ms || child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`no ${pattern} within ${ms} ms; output so far:\n${output.text.slice(-3000)}`));
      }
    }, 200);
  });
}

describe('javaPids', () => {
  it('throws when pgrep itself fails, instead of reporting no process', () => {
    expect(() => javaPids(1, 'pgrep-that-does-not-exist')).toThrow(/pgrep failed/);
    // pgrep's own "no process matched" (exit 1) is the empty list.
    expect(javaPids(1)).toEqual([]);
  });
});

describe('npm start', () => {
  it('shows the first attempt within 60 s and the first timeout within 90 s, then stops cleanly on Ctrl-C', async () => {
    // Prepare
    const output = { text: '' };
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'local', 'start.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (c: Buffer) => {
      output.text += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      output.text += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    try {
      // Act
      const started = Date.now();
      // Every milestone is measured from the start, not from the one before it.
      await waitFor(child, output, /loaded \d+ stalled checkouts/, 60_000, started);
      const firstAttempt = await waitFor(child, output, /claimed\s+\S+\s+attempt 1 of/, 60_000, started);
      const firstTimeout = await waitFor(child, output, /timed out demo-transcription/, 90_000, started);
      const dynamoPort = Number(/DynamoDB\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(output.text)?.[1]);
      const sqsPort = Number(/SQS\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(output.text)?.[1]);
      // The printed endpoints are local IAM's gate; DynamoDB Local's JVM listens behind it.
      const jvmPort = Number(/emulators ready: dynamodb http:\/\/127\.0\.0\.1:(\d+)/.exec(output.text)?.[1]);
      expect(await portOpen(dynamoPort)).toBe(true);
      expect(javaPids(jvmPort)).not.toEqual([]);
      child.kill('SIGINT');
      const code = await exited;

      // Assess
      expect(Date.now() - started).toBeLessThan(120_000);
      expect(firstAttempt).toBeLessThan(60_000);
      expect(firstTimeout).toBeLessThan(90_000);
      expect(output.text).toMatch(/sent\s+via ses/);
      expect(output.text).toMatch(/skipped\s+channel_disabled/);
      expect(output.text).toContain('stopped cleanly');
      expect(output.text).toMatch(/iam\s+enforced from the synthesized template for 11 functions/);
      expect(output.text).not.toMatch(/iam\s+denied/);
      expect(code).toBe(0);
      expect(await portOpen(dynamoPort)).toBe(false);
      expect(await portOpen(sqsPort)).toBe(false);
      expect(await portOpen(jvmPort)).toBe(false);
      expect(javaPids(jvmPort)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 150_000);
});
