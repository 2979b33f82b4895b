import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parseLocalState, type LocalState } from '../../lambda/local/state.js';
import { waitFor } from './fauxqs.js';

// npm scripts run as child processes (`npm run state`, `npm start`), each in its own process group so
// that kill -9 takes npm, its shell, tsx and node down together: a Lambda crash, with the state surviving.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Child {
  readonly process: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** kill -9 of the whole process group (npm, its shell, tsx and node). */
  kill(): Promise<void>;
}

export const children = new Set<Child>();

/** Starts an npm script in its own process group and collects its output lines. */
export function npmRun(script: string, env: Record<string, string>): Child {
  const base = { ...process.env };
  delete base['CASE_BRIDGE_STATE'];
  delete base['CASE_BRIDGE_STATE_DIR'];
  const proc = spawn('npm', ['run', '--silent', script], { cwd: ROOT, env: { ...base, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const lines = (into: string[]) => {
    let rest = '';
    return (chunk: Buffer) => {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      into.push(...parts);
    };
  };
  proc.stdout?.on('data', lines(stdout));
  proc.stderr?.on('data', lines(stderr));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const child: Child = {
    process: proc,
    stdout,
    stderr,
    async kill() {
      children.delete(child);
      if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
        try {
          process.kill(-proc.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await exited;
      }
      // The group's last process may outlive the npm process by a moment.
      await waitFor(() => {
        try {
          process.kill(-(proc.pid ?? 0), 0);
          return false;
        } catch {
          return true;
        }
      }, 5_000);
    },
  };
  children.add(child);
  return child;
}

export async function untilLine(child: Child, where: 'stdout' | 'stderr', match: (line: string) => boolean, timeoutMs = 60_000): Promise<string> {
  let found: string | undefined;
  const ok = await waitFor(() => (found = child[where].find(match)) !== undefined || child.process.exitCode !== null, timeoutMs, 50);
  if (!ok || found === undefined) throw new Error(`no such line on ${where}; stdout:\n${child.stdout.join('\n')}\nstderr:\n${child.stderr.join('\n')}`);
  return found;
}

/** `npm run state` on `dir`: the one JSON line it prints, parsed. */
export async function startState(dir: string): Promise<{ child: Child; line: string; state: LocalState }> {
  const child = npmRun('state', { CASE_BRIDGE_STATE_DIR: dir });
  const line = await untilLine(child, 'stdout', (l) => l.startsWith('{'));
  expect(child.stdout.filter((l) => l.trim() !== '')).toEqual([line]);
  return { child, line, state: parseLocalState(line) };
}


/**
 * `npm run state` on `dir` and a secrets file with the test keys: `start()`
 * runs `npm start` on that state (a new process each call) and gives its URL once it listens.
 */
export async function stateAndStarter(dir: string, secrets: Record<string, string>, datadogUrl: string): Promise<{ line: string; state: LocalState; start: () => Promise<{ child: Child; url: string }> }> {
  const { line, state } = await startState(dir);
  const secretsFile = `${dir}/secrets.json`;
  writeFileSync(secretsFile, JSON.stringify(secrets));
  const env = { CASE_BRIDGE_STATE: line, CASE_BRIDGE_SECRETS_FILE: secretsFile, DD_API_URL: datadogUrl, PORT: '0' };
  const start = async () => {
    const child = npmRun('start', env);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(await untilLine(child, 'stderr', (l) => l.includes('case-bridge listening on')))?.[1] ?? '';
    await untilLine(child, 'stderr', (l) => l.includes('try:'));
    return { child, url };
  };
  return { line, state, start };
}
