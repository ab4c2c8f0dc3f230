// `safer-ring cp`: cp's conventions, exit status, messages on stderr, the
// --json summary, progress lines, and Ctrl-C. Once per backend: the command
// line does not change with the worker count (the API suites run at each).
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { tmpPath, pattern, oncePerBackend } from './helpers/env.mjs';
import { temporariesBelow, makeTree, compareTrees } from './helpers/tree.mjs';

const test = oncePerBackend(base);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'src', 'copy', 'cli.js');
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;

function run(...args) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `cp` with one worker thread: these tests are about the command line, and each run starts a pool. */
const cp = (...args) => run('cp', '--workers=1', ...args);

function tree(dir, n = 5) {
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, i % 2 ? 'sub' : '', `f${i}`), pattern(100 + i, i));
}

/** The CLI's main() in this process, with captured output: for what needs no process of its own. */
async function runHere(...args) {
  const { main } = createRequire(import.meta.url)(cli);
  const capture = () => {
    const chunks = [];
    return { chunks, write: (c) => chunks.push(String(c)), isTTY: false };
  };
  const stdout = capture();
  const stderr = capture();
  const code = await main(args, { stdout, stderr });
  return { code, out: stdout.chunks.join(''), err: stderr.chunks.join('') };
}

test('--help and --version: stdout, exit 0', async () => {
  let r = run('cp', '--help');
  assert.is(r.code, 0);
  assert.ok(r.out.includes('Usage: safer-ring cp'));
  assert.ok(r.out.includes('--overwrite=MODE'));
  r = run('--version');
  assert.is(r.code, 0);
  assert.is(r.out.trim(), `safer-ring ${version}`);
  r = await runHere('cp', '-V');
  assert.is(r.out.trim(), `safer-ring ${version}`);
  r = await runHere('--help');
  assert.is(r.code, 0);
  assert.ok(r.out.includes('Commands:'));
});

test('usage errors: exit 1, a message on stderr, nothing on stdout', async () => {
  // One as a process of its own (the exit status), the rest through main().
  const spawned = run('cp');
  assert.is(spawned.code, 1);
  assert.ok(spawned.err.includes('missing file operand'));
  for (const [args, text] of [
    [['cp'], 'missing file operand'],
    [['cp', 'only-one'], "missing destination file operand after 'only-one'"],
    [['cp', '--bogus', 'a', 'b'], "Unknown option '--bogus'"],
    [['cp', '--overwrite=sometimes', 'a', 'b'], "invalid --overwrite value 'sometimes'"],
    [['cp', '--workers=-1', 'a', 'b'], 'invalid --workers'],
    [['mv', 'a', 'b'], "unknown command 'mv'"],
    [[], 'Usage: safer-ring'],
  ]) {
    const r = await runHere(...args);
    assert.is(r.code, 1, args.join(' '));
    assert.ok(r.err.includes(text), `${args.join(' ')}: ${r.err}`);
    assert.is(r.out, '');
  }
});

test("cp's conventions: into an existing directory, to a new name, several sources", () => {
  const src = tmpPath('cli-src');
  tree(src);
  const file = path.join(src, 'f0');
  const dir = tmpPath('cli-dir');
  fs.mkdirSync(dir);
  // A file into a directory keeps its name.
  assert.is(cp(file, dir).code, 0);
  assert.ok(fs.readFileSync(path.join(dir, 'f0')).equals(fs.readFileSync(file)));
  // A tree into an existing directory lands under its own name.
  assert.is(cp('-R', src, dir).code, 0);
  assert.ok(fs.existsSync(path.join(dir, path.basename(src), 'sub', 'f1')));
  // Several sources go into the last operand, which must be a directory.
  const many = tmpPath('cli-many');
  fs.mkdirSync(many);
  assert.is(cp(path.join(src, 'f0'), path.join(src, 'f2'), many).code, 0);
  assert.equal(fs.readdirSync(many).sort(), ['f0', 'f2']);
  const r = run('cp', path.join(src, 'f0'), path.join(src, 'f2'), path.join(many, 'f0'));
  assert.is(r.code, 1);
  assert.ok(r.err.includes('is not a directory'));
});

test('a directory without -r is omitted (exit 1) and the other sources are still copied', () => {
  const src = tmpPath('cli-norec');
  tree(src);
  const dir = tmpPath('cli-norec-dst');
  fs.mkdirSync(dir);
  const r = cp(src, path.join(src, 'f0'), dir);
  assert.is(r.code, 1);
  assert.ok(r.err.includes(`-r not specified; omitting directory '${src}'`));
  assert.ok(fs.existsSync(path.join(dir, 'f0')));
  assert.not.ok(fs.existsSync(path.join(dir, path.basename(src))));
});

test('a file that cannot be copied: exit 1 and its reason on stderr; --overwrite=replace then succeeds', () => {
  const src = tmpPath('cli-conflict');
  tree(src);
  const dst = tmpPath('cli-conflict-dst');
  fs.mkdirSync(dst);
  fs.writeFileSync(path.join(dst, 'f0'), 'mine');
  let r = cp(path.join(src, 'f0'), path.join(src, 'f2'), dst);
  assert.is(r.code, 1);
  assert.ok(r.err.includes(`cannot copy '${path.join(src, 'f0')}'`), r.err);
  assert.ok(r.err.includes('Target already exists'));
  assert.is(fs.readFileSync(path.join(dst, 'f0'), 'utf8'), 'mine');
  assert.ok(fs.existsSync(path.join(dst, 'f2')));
  // To a name that exists, replacing it; quietly.
  r = cp('-q', '--overwrite=replace', path.join(src, 'f0'), path.join(dst, 'f0'));
  assert.is(r.code, 0);
  assert.is(r.err, '');
  assert.ok(fs.readFileSync(path.join(dst, 'f0')).equals(fs.readFileSync(path.join(src, 'f0'))));
});

test('--json prints the summary on stdout; progress lines and a summary line go to stderr', () => {
  const src = tmpPath('cli-json');
  tree(src, 9);
  // With the default worker count of this run.
  const r = run('cp', '-r', '--json', src, tmpPath('cli-json-dst'));
  assert.is(r.code, 0);
  const s = JSON.parse(r.out);
  assert.is(s.files, 9);
  assert.is(s.directories, 2);
  assert.equal(s.failed, []);
  assert.match(r.err, /100%, .* of .*, 9\/9 files/);
  assert.match(r.err, /copied 9 files, 2 directories, /);
});

test('the special-case tree, with this thread copying beside the workers (the command line\'s way), at 1 and 2 workers', () => {
  const src = tmpPath('cli-special');
  makeTree(src, { fifo: false });
  for (const workers of [1, 2]) {
    const dst = tmpPath(`cli-special-dst-${workers}`);
    const r = run('cp', '-r', '--json', `--workers=${workers}`, src, dst);
    assert.is(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).failed, []);
    assert.equal(compareTrees(src, dst), []);
    assert.equal(temporariesBelow(dst), []);
  }
});

test('Ctrl-C (SIGINT): stops, removes temporaries, reports, exit 130', async () => {
  const src = tmpPath('cli-sigint');
  fs.mkdirSync(src);
  for (let d = 0; d < 20; d++) {
    fs.mkdirSync(path.join(src, `d${d}`));
    for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(src, `d${d}`, `f${i}`), pattern(2000, i));
  }
  const dst = tmpPath('cli-sigint-dst');
  const child = spawn(process.execPath, [cli, 'cp', '-r', '--workers=1', '--concurrency=1', src, dst]);
  let err = '';
  const code = await new Promise((resolve) => {
    child.stderr.on('data', (chunk) => {
      const first = err === '';
      err += chunk;
      // The first progress line comes when the source is listed and copying starts.
      if (first) child.kill('SIGINT');
    });
    child.on('exit', (c) => resolve(c));
  });
  assert.is(code, 130, err);
  assert.ok(err.includes('interrupted'), err);
  assert.match(err, /stopped after copying \d+ files/);
  assert.equal(temporariesBelow(dst), []);
});

test.run();
