// What this kernel and process can do, and which path safer-ring takes for
// each feature. Detection is real (the io_uring probe, rings set up with each
// flag, /proc); FeatureDetector.simulateKernel() makes it report an older
// kernel's feature set, so the degraded paths can be exercised on a new one.
import fs from 'node:fs';
import os from 'node:os';
import { binding } from './native';
import { backend, BackendName } from './backend/select';
import { detectKernelSupport } from './config';
import { SaferRingError } from './errors';
import { invalidType } from './validate';

/** Optional features, with the kernel version that brought each (per the io_uring man pages). */
export const FEATURE_KERNELS = {
  coopTaskrun: '5.19',
  singleIssuer: '6.0',
  deferTaskrun: '6.1',
  sparseBufferRegistration: '5.19',
  bufferRings: '5.19',
  multishotAccept: '5.19',
  multishotRecv: '6.0',
  sendZeroCopy: '6.0',
  asyncCancelAny: '5.19',
} as const;

export type FeatureName = keyof typeof FEATURE_KERNELS;

export interface EnvironmentInfo {
  /** 'io_uring', or 'fallback' (node:fs), and why. */
  backend: BackendName;
  backendReason: string | null;
  kernel: string;
  /** The version the feature table was evaluated for (the real one unless simulated). */
  kernelVersion: string;
  simulated: boolean;
  ioUringAvailable: boolean;
  /** kernel.io_uring_disabled (6.6+): 0 on, 1 root only, 2 off; null where the sysctl does not exist. */
  ioUringDisabledSysctl: number | null;
  /** RLIMIT_MEMLOCK in bytes (Infinity when unlimited); registered buffers count against it for non-root users. */
  memlockLimitBytes: number | null;
  /** io_uring opcodes this kernel reports through its probe. */
  opcodes: Record<string, boolean>;
  features: Record<FeatureName, boolean>;
  /** The path each optional feature takes here. */
  paths: {
    multishotAccept: 'kernel multishot' | 're-armed single-shot';
    multishotRecv: 'kernel multishot' | 're-armed single-shot';
    bufferSelection: 'kernel buffer ring' | 'plain buffers picked by the library';
    arenaBuffers: 'registered (READ_FIXED/WRITE_FIXED)' | 'plain READ/WRITE';
    completionDelivery: 'eventfd watched by libuv' | 'libuv thread pool (fallback)';
  };
}

function parseVersion(text: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

function atLeast(have: [number, number], need: string): boolean {
  const [a, b] = parseVersion(need);
  return have[0] > a || (have[0] === a && have[1] >= b);
}

function readNumber(file: string): number | null {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
}

function memlockLimit(): number | null {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max locked memory'));
    const soft = line?.split(/\s{2,}/)[1];
    if (soft === undefined) return null;
    return soft === 'unlimited' ? Infinity : Number(soft);
  } catch {
    return null;
  }
}

let simulatedKernel: string | null = process.env.SAFER_RING_SIMULATE_KERNEL || null;
let cache: EnvironmentInfo | null = null;

export class FeatureDetector {
  /**
   * Reports `version`'s feature set from now on (on this thread): features
   * newer than it read as missing, and safer-ring takes their degraded paths.
   * Pass null to return to the real kernel. For tests and for trying out how
   * an application behaves on an older kernel.
   */
  static simulateKernel(version: string | null): void {
    if (version !== null && typeof version !== 'string') throw invalidType('version', 'of type string or null', version);
    if (version !== null && !/^\d+\.\d+/.test(version)) {
      throw SaferRingError.for('ERR_INVALID_ARG_VALUE', `The argument 'version' must look like '5.15'. Received '${version}'`);
    }
    simulatedKernel = version;
    cache = null;
  }

  /** Everything at once (cached per thread). */
  static detect(): EnvironmentInfo {
    return (cache ??= detectEnvironment());
  }

  static supports(feature: FeatureName): boolean {
    return FeatureDetector.detect().features[feature];
  }
}

function detectEnvironment(): EnvironmentInfo {
  const real = os.release();
  const version = parseVersion(simulatedKernel ?? real);
  const choice = backend();
  const ioUring = choice.name === 'io_uring';
  let opcodes: Record<string, boolean> = {};
  if (ioUring && binding !== null) {
    try {
      opcodes = binding.probe();
    } catch {
      opcodes = {};
    }
  }
  const flags = ioUring ? detectKernelSupport() : null;
  const gate = (name: FeatureName, real: boolean) => ioUring && real && atLeast(version, FEATURE_KERNELS[name]);
  const features: Record<FeatureName, boolean> = {
    coopTaskrun: gate('coopTaskrun', flags?.coopTaskrun ?? false),
    singleIssuer: gate('singleIssuer', flags?.singleIssuer ?? false),
    deferTaskrun: gate('deferTaskrun', flags?.deferTaskrun ?? false),
    sparseBufferRegistration: gate('sparseBufferRegistration', flags?.fixedBuffers ?? false),
    // The probe has no entry for buffer rings or multishot: they ride on RECV/ACCEPT, so the version decides.
    bufferRings: gate('bufferRings', opcodes.RECV === true),
    multishotAccept: gate('multishotAccept', opcodes.ACCEPT === true),
    multishotRecv: gate('multishotRecv', opcodes.RECV === true),
    sendZeroCopy: gate('sendZeroCopy', opcodes.SEND_ZC === true),
    asyncCancelAny: gate('asyncCancelAny', opcodes.ASYNC_CANCEL === true),
  };
  return {
    backend: choice.name,
    backendReason: choice.reason,
    kernel: real,
    kernelVersion: `${version[0]}.${version[1]}`,
    simulated: simulatedKernel !== null,
    ioUringAvailable: ioUring,
    ioUringDisabledSysctl: readNumber('/proc/sys/kernel/io_uring_disabled'),
    memlockLimitBytes: memlockLimit(),
    opcodes,
    features,
    paths: {
      multishotAccept: features.multishotAccept ? 'kernel multishot' : 're-armed single-shot',
      multishotRecv: features.multishotRecv && features.bufferRings ? 'kernel multishot' : 're-armed single-shot',
      bufferSelection: features.bufferRings ? 'kernel buffer ring' : 'plain buffers picked by the library',
      arenaBuffers: features.sparseBufferRegistration ? 'registered (READ_FIXED/WRITE_FIXED)' : 'plain READ/WRITE',
      completionDelivery: ioUring ? 'eventfd watched by libuv' : 'libuv thread pool (fallback)',
    },
  };
}

/** What safer-ring found about this system and which path each feature takes. */
export function getEnvironmentInfo(): EnvironmentInfo {
  return FeatureDetector.detect();
}

/** True when rings here use io_uring (false: the node:fs fallback serves them). */
export function isIoUringAvailable(): boolean {
  return FeatureDetector.detect().ioUringAvailable;
}
