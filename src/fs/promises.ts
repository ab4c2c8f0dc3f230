// safer-ring/fs/promises: node:fs/promises on io_uring.
//
// Every member node:fs/promises has in Node 20 is here. Those io_uring can
// serve (open and the FileHandle, readFile, writeFile, appendFile, stat,
// lstat, unlink, rename, link, symlink, mkdir, rmdir, rm, truncate) run on this
// thread's ring (ring-api.ts); the rest are Node's own functions, which run
// on libuv's thread pool as always. On the fallback backend
// (SAFER_RING_BACKEND=fallback, or no io_uring) every member is Node's own.
//
// The export is an object literal of plain names so that Node's ESM loader
// can see them: `import { readFile } from 'safer-ring/fs/promises'` works
// from ESM as well as `require` and default imports. Its types are Node's
// own (src/fs/types/promises.d.ts).
import { promises as node } from 'node:fs';
import { ringMembers } from './ring-api';
import { ringBackend } from './ring-context';

type Fsp = typeof node;

const viaRing = ringBackend();

function member<K extends keyof Fsp>(name: K): Fsp[K] {
  const ours = ringMembers[name];
  return (viaRing && ours !== undefined ? ours : node[name]) as Fsp[K];
}

const access = member('access');
const appendFile = member('appendFile');
const chmod = member('chmod');
const chown = member('chown');
const constants = member('constants');
const copyFile = member('copyFile');
const cp = member('cp');
const lchmod = member('lchmod');
const lchown = member('lchown');
const link = member('link');
const lstat = member('lstat');
const lutimes = member('lutimes');
const mkdir = member('mkdir');
const mkdtemp = member('mkdtemp');
const open = member('open');
const opendir = member('opendir');
const readdir = member('readdir');
const readFile = member('readFile');
const readlink = member('readlink');
const realpath = member('realpath');
const rename = member('rename');
const rm = member('rm');
const rmdir = member('rmdir');
const stat = member('stat');
const statfs = member('statfs');
const symlink = member('symlink');
const truncate = member('truncate');
const unlink = member('unlink');
const utimes = member('utimes');
const watch = member('watch');
const writeFile = member('writeFile');

export = {
  access, copyFile, cp, open, opendir, rename, truncate, rm, rmdir, mkdir, readdir, readlink, symlink, lstat, stat, statfs,
  link, unlink, chmod, lchmod, lchown, chown, utimes, lutimes, realpath, mkdtemp, writeFile, appendFile, readFile, watch,
  constants,
};
