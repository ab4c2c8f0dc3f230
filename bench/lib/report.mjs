// Pieces of the report every benchmark prints or writes.
import fs from 'node:fs';
import os from 'node:os';

/** "node v20.x, linux 6.x, 16 x CPU model", for the header. */
export function machineLine() {
  const cpus = os.cpus();
  return `node ${process.version}, linux ${os.release()}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}`;
}

/** Writes `report` as JSON; JSON has no NaN, so figures that were not measured are written as null. */
export function writeJson(file, report) {
  fs.writeFileSync(file, `${JSON.stringify(report, (_k, x) => (Number.isNaN(x) ? null : x), 2)}\n`);
}

/** The fields every JSON report starts with. */
export function reportHeader(benchmark) {
  return {
    benchmark,
    date: new Date().toISOString(),
    node: process.version,
    kernel: os.release(),
    cpus: os.cpus().length,
  };
}
