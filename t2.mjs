import { Ring } from 'safer-ring';
const ring = new Ring(16);
globalThis.keep = ring;
const p = ring.openat('/tmp/zz-test', 'w', 0o640);
p.then(x => console.log('fd', x), e => console.log('err', e));
setTimeout(() => console.log(ring.stats()), 200);
