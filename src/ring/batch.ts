// Batch and Operation: several operations submitted to the kernel together,
// optionally chained so each waits for the one before it (IOSQE_IO_LINK).
import type { OwnedBuffer } from '../buffers/owned-buffer';
import { SaferRingError } from '../errors';
import { checkOptions, invalidValue } from '../validate';

/** The subset of Ring (or Runtime) an Operation needs to run itself. */
export interface OperationTarget {
  read(fd: number, buffer: Uint8Array, options?: object): Promise<unknown>;
  write(fd: number, buffer: Uint8Array, options?: object): Promise<unknown>;
  readOwned(fd: number, buffer: OwnedBuffer, options?: object): Promise<unknown>;
  writeOwned(fd: number, buffer: OwnedBuffer, options?: object): Promise<unknown>;
  readv(fd: number, buffers: Uint8Array[], options?: object): Promise<unknown>;
  writev(fd: number, buffers: Uint8Array[], options?: object): Promise<unknown>;
  fsync(fd: number, options?: object): Promise<unknown>;
  closeFd(fd: number, options?: object): Promise<unknown>;
  recv(fd: number, buffer: Uint8Array | OwnedBuffer, options?: object): Promise<unknown>;
  send(fd: number, buffer: Uint8Array | OwnedBuffer, options?: object): Promise<unknown>;
  nop(options?: object): Promise<unknown>;
  timeout(ms: number, options?: object): Promise<unknown>;
}

type Kind = 'read' | 'write' | 'readv' | 'writev' | 'fsync' | 'close' | 'recv' | 'send' | 'nop' | 'timeout';

/** How an operation depends on the one before it in its batch. */
export type Dependency = 'none' | 'link' | 'hardlink';

export class Operation {
  #kind: Kind;
  #fd: number | undefined;
  #buffer: Uint8Array | OwnedBuffer | undefined;
  #buffers: Uint8Array[] | undefined;
  #position: number | undefined;
  #length: number | undefined;
  #datasync = false;
  #ms = 0;
  /** Set by Batch.add. */
  dependency: Dependency = 'none';

  private constructor(kind: Kind) {
    this.#kind = kind;
  }

  static read(): Operation { return new Operation('read'); }
  static write(): Operation { return new Operation('write'); }
  static readv(): Operation { return new Operation('readv'); }
  static writev(): Operation { return new Operation('writev'); }
  static fsync(): Operation { return new Operation('fsync'); }
  static close(): Operation { return new Operation('close'); }
  static recv(): Operation { return new Operation('recv'); }
  static send(): Operation { return new Operation('send'); }
  static nop(): Operation { return new Operation('nop'); }
  static timeout(ms: number): Operation {
    const op = new Operation('timeout');
    op.#ms = ms;
    return op;
  }

  get kind(): string { return this.#kind; }
  fd(fd: number): this { this.#fd = fd; return this; }
  /** An OwnedBuffer moves into the operation (its result carries it back); a Uint8Array is copied or lent. */
  buffer(buffer: Uint8Array | OwnedBuffer): this { this.#buffer = buffer; return this; }
  buffers(buffers: Uint8Array[]): this { this.#buffers = buffers; return this; }
  /** File position (-1: the current position). */
  offset(position: number): this { this.#position = position; return this; }
  length(length: number): this { this.#length = length; return this; }
  datasync(on = true): this { this.#datasync = on; return this; }

  /** @internal Issues the operation on a ring. */
  apply(target: OperationTarget): Promise<unknown> {
    const fd = this.#fd as number;
    const io = { position: this.#position, length: this.#length };
    const buf = this.#buffer;
    const owned = buf !== undefined && !(buf instanceof Uint8Array);
    switch (this.#kind) {
      case 'read': return owned ? target.readOwned(fd, buf as OwnedBuffer, io) : target.read(fd, buf as Uint8Array, io);
      case 'write': return owned ? target.writeOwned(fd, buf as OwnedBuffer, io) : target.write(fd, buf as Uint8Array, io);
      case 'readv': return target.readv(fd, this.#buffers as Uint8Array[], { position: this.#position });
      case 'writev': return target.writev(fd, this.#buffers as Uint8Array[], { position: this.#position });
      case 'fsync': return target.fsync(fd, { datasync: this.#datasync });
      case 'close': return target.closeFd(fd);
      case 'recv': return target.recv(fd, buf as Uint8Array, { length: this.#length });
      case 'send': return target.send(fd, buf as Uint8Array, { length: this.#length });
      case 'nop': return target.nop();
      case 'timeout': return target.timeout(this.#ms);
    }
  }

  /** The fd the operation uses, for routing a batch to a worker. */
  get fdForRouting(): number | undefined {
    return this.#fd;
  }
}

export interface BatchAddOptions {
  /**
   * Run only after the previous operation succeeded (IOSQE_IO_LINK); if it
   * fails, this one completes with ECANCELED. `'hard'` (IOSQE_IO_HARDLINK)
   * runs it even when the previous one failed.
   */
  dependsOnPrevious?: boolean | 'hard';
}

export class Batch {
  readonly operations: Operation[] = [];

  add(operation: Operation, options?: BatchAddOptions): this {
    if (!(operation instanceof Operation)) {
      throw SaferRingError.for('ERR_INVALID_ARG_TYPE', 'The "operation" argument must be an instance of Operation');
    }
    const dep = checkOptions<BatchAddOptions>(options).dependsOnPrevious;
    if (dep && this.operations.length === 0) throw invalidValue('dependsOnPrevious', 'needs a previous operation');
    operation.dependency = dep === 'hard' ? 'hardlink' : dep ? 'link' : 'none';
    this.operations.push(operation);
    return this;
  }

  get length(): number {
    return this.operations.length;
  }
}

/** One entry per operation, in order, shaped like Promise.allSettled's. */
export interface BatchResult {
  results: PromiseSettledResult<unknown>[];
}
