#!/usr/bin/env bash
# Packs what bench/scaling.mjs needs to run on a machine that has neither a
# compiler, liburing nor node: the node binary, the built library (dist/), the
# addon (liburing linked statically), the C reference program and the
# library's runtime dependency. Run it here, after `npm install`; it writes
# build/scaling-bundle/bundle.tar.xz (about 30 MB), which bench/scaling/run.sh
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
tar -cJf build/scaling-bundle/bundle.tar.xz \
  dist build/Release/safer_ring.node build/bench/read_random build/node/node node_modules/node-gyp-build
rm -rf build/node
ls -l build/scaling-bundle/bundle.tar.xz
