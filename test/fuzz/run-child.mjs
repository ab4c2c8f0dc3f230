// Runs one fuzz batch in a child process and reads its one-line JSON verdict.
// A child that dies by a signal (a crash in the addon), exits non-zero, hangs
// past its limit or prints no verdict is a failed batch, never a dead runner.
import { spawn } from 'node:child_process';

/**
 * @param {string} script  the child (native-child.mjs or api-child.mjs)
 * @param {string[]} args  its arguments (--seed N ...)
 * @param {{ timeoutMs?: number, env?: object, nodeArgs?: string[] }} options
 * @returns {Promise<{ ok: boolean, why?: string, verdict?: object, output: string }>}
 */
export function runChild(script, args, { timeoutMs = 120_000, env = {}, nodeArgs = [] } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', ...nodeArgs, script, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      let verdict;
      try { verdict = line === undefined ? undefined : JSON.parse(line); } catch { verdict = undefined; }
      const output = `${out}${err}`.slice(-8000);
      const why = timedOut ? `hung: no verdict within ${timeoutMs} ms`
        : signal !== null ? `crashed: killed by ${signal}`
        : verdict?.violation !== undefined ? `violation: ${verdict.violation}`
        : code !== 0 ? `exit status ${code}`
        : verdict === undefined ? 'printed no verdict'
        : undefined;
      resolve({ ok: why === undefined, why, verdict, output });
    });
  });
}
