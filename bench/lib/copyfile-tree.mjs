#!/usr/bin/env node
// A tree copy with fs.promises.copyFile, N files in flight: what a Node user
// would write with node:fs. Directories first (mkdir), then every file.
//   node bench/lib/copyfile-tree.mjs SRC DST [IN_FLIGHT]
import fsp from 'node:fs/promises';
import path from 'node:path';

const [src, dst, inFlight = '64'] = process.argv.slice(2);
const files = [];
async function walk(s, d) {
  await fsp.mkdir(d);
  for (const e of await fsp.readdir(s, { withFileTypes: true })) {
    const sp = path.join(s, e.name);
    const dp = path.join(d, e.name);
    if (e.isDirectory()) await walk(sp, dp);
    else files.push([sp, dp]);
  }
}
await walk(src, dst);
let next = 0;
await Promise.all(Array.from({ length: Number(inFlight) }, async () => {
  while (next < files.length) {
    const [s, d] = files[next++];
    await fsp.copyFile(s, d);
  }
}));
