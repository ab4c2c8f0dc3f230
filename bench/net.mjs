#!/usr/bin/env node
// safer-ring/net against node:net, side by side, loopback only:
//  - echo: 64 connections ping-ponging 64-byte messages, driven by a C epoll
//    client (bench/c/echo_client.c) so the load generator is not the limit;
//    also the raw Ring and Runtime(1 worker) recv/send loops, which decide
//    where connections should live (the calling thread's ring, or workers);
//  - bulk: 1 GiB through one connection, sender and receiver in two processes;
//  - http: node:http hello world on each, loaded with wrk (one thread, 64
//    keep-alive connections) when wrk is installed.
// Each server runs in its own process (bench/net-servers.mjs) for the whole
// benchmark; variants are interleaved round by round. Reported: medians,
// ratios to node:net, the server's CPU time per message or request, and the
// load generator's own CPU use (near 100% of a core would mean it, not the
// server, set the pace).
//
//   node bench/net.mjs [--rounds N] [--seconds S] [--only TEXT] [--json FILE]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCProgram } from './lib/cbuild.mjs';
import { parseOrExit, runMain, selected } from './lib/cli.mjs';
import { machineLine, reportHeader, writeJson } from './lib/report.mjs';
import { runRounds } from './lib/rounds.mjs';
import { formatInt, formatTimes, median, printTable } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const serversScript = path.join(here, 'net-servers.mjs');
const ECHO_CONNECTIONS = 64;
const ECHO_BYTES = 64;
const BULK_MIB = 1024;
const HTTP_CONNECTIONS = 64;
const CLK_TCK = 100;

const TARGETS = { echo: 1.3, http: 1.15, bulk: 1.0 };

/** A long-lived server process; resolves once it printed its port. */
function startServer(kind) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [serversScript, kind], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = [];
    let buffered = '';
    child.stdout.on('data', (d) => {
      buffered += d;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        lines.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if (lines.length === 1) resolve({ child, port: Number(lines[0]), lines });
      }
    });
    child.on('exit', (code) => reject(new Error(`server ${kind} exited (${code}) before listening`)));
  });
}

function stopServer(ctx) {
  if (ctx?.child && ctx.child.exitCode === null) ctx.child.stdin.end();
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

async function echoRun(v, ctx, seconds) {
  const cpu0 = cpuSeconds(ctx.child.pid);
  const out = run(ctx.client, [String(ctx.port), String(ECHO_CONNECTIONS), String(ECHO_BYTES), String(seconds)]);
  const cpu = cpuSeconds(ctx.child.pid) - cpu0;
  const f = Object.fromEntries(out.trim().split(' ').map((kv) => kv.split('=')).map(([k, x]) => [k, Number(x)]));
  if (f.errors !== 0) throw new Error(`echo client reported ${f.errors} errors`);
  return { rate: f.messages / f.seconds, serverUsPer: (cpu / f.messages) * 1e6, loadCpu: f.client_cpu_seconds / f.seconds };
}

async function bulkRun(v, ctx) {
  const cpu0 = cpuSeconds(ctx.child.pid);
  const before = ctx.lines.length;
  run(process.execPath, [serversScript, v.sender, String(ctx.port), String(BULK_MIB)]);
  while (ctx.lines.length === before) await new Promise((res) => setTimeout(res, 2));
  const [, b, secs] = /bytes=(\d+) seconds=([\d.e-]+)/.exec(ctx.lines.at(-1));
  const bytes = Number(b);
  const elapsed = Number(secs);
  if (bytes !== BULK_MIB * 1048576) throw new Error(`sink received ${bytes} bytes`);
  return { rate: bytes / elapsed / 1e9, serverUsPer: ((cpuSeconds(ctx.child.pid) - cpu0) / (bytes / 1048576)) * 1e6, loadCpu: NaN };
}

async function httpRun(v, ctx, seconds) {
  // bash's `times` prints the CPU time of its children: wrk's.
  const out = run('bash', ['-c', `wrk -t1 -c${HTTP_CONNECTIONS} -d${seconds}s http://127.0.0.1:${ctx.port}/ && times`]);
  const cpu0 = ctx.cpuMark ?? 0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const total = Number(/Requests\/sec/.test(out) ? /(\d+) requests in/.exec(out)[1] : NaN);
  const times = out.trim().split('\n').at(-1).match(/(\d+)m([\d.]+)s/g).map((t) => {
    const [, m, s] = /(\d+)m([\d.]+)s/.exec(t);
    return Number(m) * 60 + Number(s);
  });
  const serverCpu = cpuSeconds(ctx.child.pid);
  ctx.cpuMark = serverCpu;
  return { rate: rps, serverUsPer: ((serverCpu - cpu0) / total) * 1e6, loadCpu: (times[0] + times[1]) / seconds };
}

function variants() {
  const list = [
    { group: 'echo', name: 'node:net echo', kind: 'echo-node', baseline: true },
    { group: 'echo', name: 'safer-ring/net echo', kind: 'echo-ring' },
    { group: 'echo', name: 'Ring recv/send echo (calling thread)', kind: 'echo-ring-raw' },
    { group: 'echo', name: 'Runtime(1 worker) recv/send echo', kind: 'echo-runtime-raw' },
    { group: 'bulk', name: 'node:net bulk', kind: 'sink-node', sender: 'send-node', baseline: true },
    { group: 'bulk', name: 'safer-ring/net bulk', kind: 'sink-ring', sender: 'send-ring' },
    { group: 'bulk', name: 'safer-ring/net bulk, writes from an OwnedBuffer', kind: 'sink-ring', sender: 'send-ring-owned' },
  ];
  const wrk = spawnSync('bash', ['-c', 'command -v wrk'], { encoding: 'utf8' }).status === 0;
  if (wrk) {
    list.push(
      { group: 'http', name: 'node:http on node:net', kind: 'http-node', baseline: true },
      { group: 'http', name: 'node:http on safer-ring/net', kind: 'http-ring' },
    );
  } else {
    console.log('wrk not found: the http benchmark is skipped (Debian: apt-get install wrk)');
  }
  return list;
}

const UNITS = { echo: 'msgs/s', bulk: 'GB/s', http: 'req/s' };
const PER = { echo: 'server CPU us/msg', bulk: 'server CPU us/MiB', http: 'server CPU us/req' };

async function main() {
  const opts = parseOrExit('net', process.argv.slice(2));
  if (opts === null) return;
  const client = ensureCProgram('echo_client');
  const all = variants().filter((v) => selected(opts.only, v.name));
  console.log(`net: ${machineLine()}; ${opts.rounds} rounds x ${opts.seconds} s`);
  const state = await runRounds(all, { ...opts, warmup: 0 }, {
    setup: async (v) => ({ ...(await startServer(v.kind)), client }),
    run: (v, ctx, seconds) => (v.group === 'echo' ? echoRun(v, ctx, seconds) : v.group === 'bulk' ? bulkRun(v, ctx) : httpRun(v, ctx, seconds)),
    line: (v, s) => `  ${v.name}: ${v.group === 'bulk' ? s.rate.toFixed(2) : formatInt(s.rate)} ${UNITS[v.group]}`,
  });
  for (const v of all) stopServer(state.get(v).ctx);

  const report = { ...reportHeader('net'), rounds: opts.rounds, seconds: opts.seconds, results: {} };
  for (const group of ['echo', 'bulk', 'http']) {
    const vs = all.filter((v) => v.group === group);
    if (vs.length === 0) continue;
    const base = vs.find((v) => v.baseline);
    const baseRate = base ? median(state.get(base).samples.map((s) => s.rate)) : NaN;
    console.log(`\n${group} (${UNITS[group]}, median of ${opts.rounds}; target ${formatTimes(TARGETS[group])} node:net)`);
    const rows = vs.map((v) => {
      const s = state.get(v);
      const rate = median(s.samples.map((x) => x.rate));
      const per = median(s.samples.map((x) => x.serverUsPer));
      const load = median(s.samples.map((x) => x.loadCpu));
      report.results[v.name] = { group, rate, serverUsPer: per, loadGeneratorCpu: load, samples: s.samples, error: s.error };
      return [
        v.name,
        s.error ? 'FAILED' : group === 'bulk' ? rate.toFixed(2) : formatInt(rate),
        formatTimes(rate / baseRate),
        Number.isFinite(per) ? per.toFixed(group === 'bulk' ? 0 : 2) : 'n/a',
        Number.isFinite(load) ? `${Math.round(load * 100)}%` : 'n/a',
      ];
    });
    printTable([
      { title: 'variant', align: 'left' }, { title: UNITS[group], align: 'right' }, { title: 'vs node', align: 'right' },
      { title: PER[group], align: 'right' }, { title: 'load gen CPU', align: 'right' },
    ], rows);
  }
  if (opts.json) writeJson(opts.json, report);
}

runMain(main);
