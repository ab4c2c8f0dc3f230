// Argument checks with Node's error codes and wording. Everything that reaches
// the native layer has passed through here first (and is checked again there).
import { SaferRingError } from './errors';
import { isUint8Array } from './buffers/geometry';

const MAX_INT32 = 2 ** 31 - 1;

function describe(value: unknown): string {
  try {
    return describeValue(value);
  } catch {
    return 'an object'; // a Proxy or a throwing getter: say no more than is safe
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  if (typeof value === 'string') return `type string ('${value.length > 28 ? value.slice(0, 25) + '...' : value}')`;
  return `type ${typeof value} (${String(value)})`;
}

export function invalidType(name: string, expected: string, value: unknown): SaferRingError {
  return SaferRingError.for('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${expected}. Received ${describe(value)}`);
}

export function outOfRange(name: string, range: string, value: unknown): SaferRingError {
  return SaferRingError.for('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${String(value)}`);
}

export function invalidValue(name: string, reason: string, value?: unknown): SaferRingError {
  const shown = value === undefined ? '' : ` Received ${describe(value)}`;
  return SaferRingError.for('ERR_INVALID_ARG_VALUE', `The argument '${name}' ${reason}.${shown}`);
}

export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

export function checkFd(value: unknown, name = 'fd'): number {
  return checkInteger(name, value, 0, MAX_INT32);
}

/** `undefined`, `null` and -1 mean "the file's current position", as in node:fs. */
export function checkPosition(value: unknown): number {
  if (value === undefined || value === null) return -1;
  if (typeof value === 'bigint') value = Number(value);
  return checkInteger('position', value, -1, Number.MAX_SAFE_INTEGER);
}

export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (signal === null || typeof signal !== 'object' || !('aborted' in signal) || !('addEventListener' in signal)) {
    throw invalidType('options.signal', 'an instance of AbortSignal', signal);
  }
  return signal as AbortSignal;
}

export function checkOptions<T extends object>(options: unknown, name = 'options'): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw invalidType(name, 'of type object', options);
  return options as Partial<T>;
}

/** A real Uint8Array (or Buffer): decided by the engine's own type check, not by the value's properties. */
export function checkUint8Array(name: string, value: unknown): Uint8Array {
  if (!isUint8Array(value)) throw invalidType(name, 'an instance of Buffer or Uint8Array', value);
  return value;
}
