#!/usr/bin/env bash
# Packs what bench/scaling.mjs needs to run on a machine that has neither a
# compiler, liburing nor node: the node binary, the built library (dist/), the
# addon (liburing linked statically), the C reference program and the
# library's run-time dependencies (node-gyp-build; piscina for the copy
# job). Run it here, after `npm install`; it writes
# build/scaling-bundle/bundle.tar.xz (about 25 MB), which bench/scaling/run.sh
# unpacks and runs on the other machine (see docs/benchmarks.md, "Scaling").
set -euo pipefail
cd "$(dirname "$0")/../.."

npm run build --silent
[ -f build/Release/safer_ring.node ] || npx node-gyp rebuild
if ldd build/Release/safer_ring.node | grep -q liburing; then
  echo "pack.sh: the addon links liburing dynamically; install liburing's static archive (liburing-dev) and rebuild" >&2
  exit 1
fi
node --input-type=module -e "import { ensureCProgram } from './bench/lib/cbuild.mjs'; ensureCProgram('read_random');"
if ldd build/bench/read_random | grep -q liburing; then
  echo "pack.sh: build/bench/read_random links liburing dynamically" >&2
  exit 1
fi

mkdir -p build/scaling-bundle build/node
cp "$(command -v node)" build/node/node
# The library's run-time dependencies (the copy job runs on piscina); cli-progress is only the CLI's.
deps=$(node -e "const p = require('./package.json'); console.log(Object.keys(p.dependencies).filter((d) => d !== 'node-addon-api' && d !== 'cli-progress').map((d) => 'node_modules/' + d).join(' '))")
tar -cJf build/scaling-bundle/bundle.tar.xz \
  dist build/Release/safer_ring.node build/bench/read_random build/node/node $deps
rm -rf build/node
ls -l build/scaling-bundle/bundle.tar.xz
