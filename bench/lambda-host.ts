/**
 * A function's container, locally: a fresh Node process that imports a built bundle (as the Lambda
 * runtime does) and runs one invocation at a time when asked over IPC. Per invocation it reports the
 * answer, the CPU time and wall time, and what the function wrote to stdout and stderr (what Lambda
 * sends to CloudWatch Logs as application log events: the JSON log lines and the EMF blobs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

export interface Invocation<R = unknown> {
  readonly result: R;
  /** The handler's CPU time (user + system) in ms. */
  readonly cpuMs: number;
  readonly wallMs: number;
  /** Each write to stdout or stderr during the invocation (one log event each, as Lambda splits them by line). */
  readonly logEvents: readonly string[];
}

export interface Container {
  /** CPU time (ms) the process had used when the bundle was loaded: node's start and the module load. */
  readonly startCpuMs: number;
  invoke<R = unknown>(event: unknown): Promise<Invocation<R>>;
  close(): Promise<void>;
}

export interface ContainerOptions {
  readonly bundle: string;
  readonly env: Readonly<Record<string, string>>;
  /** The function's name and memory, as the Lambda context and environment give them. */
  readonly functionName: string;
  readonly memoryMb: number;
  readonly timeoutMs: number;
}

// The child: stdout and stderr captured (not printed) from before the import, so load-time lines count too.
const CHILD = `
const events = [];
const capture = (chunk, enc, cb) => { events.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')); (typeof enc === 'function' ? enc : cb)?.(); return true; };
process.stdout.write = capture;
process.stderr.write = capture;
const fn = JSON.parse(process.env.BENCH_FUNCTION);
let handler;
try { ({ handler } = await import(fn.url)); } catch (e) { process.send({ fatal: String(e && e.stack || e) }); process.exit(1); }
const c = process.cpuUsage();
process.send({ ready: true, startCpuMs: (c.user + c.system) / 1000, logEvents: events.splice(0) });
process.on('message', async (m) => {
  if (m.close) { process.disconnect(); return; }
  const deadline = Date.now() + fn.timeoutMs;
  process.env._X_AMZN_TRACE_ID = 'Root=1-' + Math.floor(Date.now() / 1000).toString(16) + '-' + m.id.replace(/-/g, '').slice(0, 24) + ';Parent=' + m.id.replace(/-/g, '').slice(8, 24) + ';Sampled=0;Lineage=1:8c2f3a6d:0';
  const context = { callbackWaitsForEmptyEventLoop: true, functionName: fn.name, functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:' + fn.name, memoryLimitInMB: String(fn.memoryMb), awsRequestId: m.id, logGroupName: '/aws/lambda/' + fn.name, logStreamName: '2026/12/04/[$LATEST]0a1b2c3d4e5f60718293a4b5c6d7e8f9', getRemainingTimeInMillis: () => deadline - Date.now() };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let result, error;
  try { result = await handler(m.event, context); } catch (e) { error = String(e && e.stack || e); }
  const wallMs = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  process.send({ id: m.id, result, error, wallMs, cpuMs: (c1.user + c1.system) / 1000, logEvents: events.splice(0) });
});
`;

interface Reply {
  readonly id?: string;
  readonly ready?: boolean;
  readonly fatal?: string;
  readonly startCpuMs?: number;
  readonly result?: unknown;
  readonly error?: string;
  readonly wallMs?: number;
  readonly cpuMs?: number;
  readonly logEvents?: string[];
}

/** Starts the container and waits until the bundle is loaded. */
export async function startContainer(options: ContainerOptions): Promise<Container> {
  const fn = { url: pathToFileURL(options.bundle).href, name: options.functionName, memoryMb: options.memoryMb, timeoutMs: options.timeoutMs };
  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: {
      PATH: process.env['PATH'] ?? '',
      ...options.env,
      AWS_LAMBDA_FUNCTION_NAME: options.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${options.functionName}`,
      BENCH_FUNCTION: JSON.stringify(fn),
    },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const waiting = new Map<string, (r: Reply) => void>();
  let onReady: ((r: Reply) => void) | undefined;
  child.on('message', (m: Reply) => {
    if (m.ready === true || m.fatal !== undefined) onReady?.(m);
    else if (m.id !== undefined) waiting.get(m.id)?.(m);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await Promise.race([
    new Promise<Reply>((resolve) => (onReady = resolve)),
    exited.then((): Reply => ({ fatal: `the container exited while loading ${options.bundle}: ${stderr}` })),
  ]);
  if (ready.fatal !== undefined) throw new Error(ready.fatal);
  return {
    startCpuMs: ready.startCpuMs ?? 0,
    async invoke<R>(event: unknown): Promise<Invocation<R>> {
      const id = randomUUID();
      const reply = await new Promise<Reply>((resolve, reject) => {
        waiting.set(id, resolve);
        exited.then(() => reject(new Error(`the container of ${options.functionName} exited: ${stderr}`)), reject);
        child.send({ id, event });
      });
      waiting.delete(id);
      if (reply.error !== undefined) throw new Error(`${options.functionName} threw: ${reply.error}`);
      return { result: reply.result as R, cpuMs: reply.cpuMs ?? 0, wallMs: reply.wallMs ?? 0, logEvents: reply.logEvents ?? [] };
    },
    async close() {
      if (child.exitCode === null) child.send({ close: true });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill();
    },
  };
}
