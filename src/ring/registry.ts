// Registered files: a ring-wide table the kernel resolves once, so ops on
// these files skip the per-op fd lookup (IOSQE_FIXED_FILE). A FixedFile names
// a table entry; it keeps working after the original fd is closed, until the
// table is unregistered or that entry is updated.
import { SaferRingError } from '../errors';

export class FixedFile {
  /** @internal */
  constructor(
    readonly index: number,
    /** @internal the registry that issued it */
    readonly registry: FileRegistry,
    /** @internal */
    readonly generation: number,
  ) {}

  /** False once its table was unregistered. */
  get valid(): boolean {
    return this.registry.generation === this.generation;
  }
}

/** The ring's side of the table: which generation of FixedFile handles is live. */
export class FileRegistry {
  generation = 0;
  size = 0;

  issue(count: number): FixedFile[] {
    this.size = count;
    return Array.from({ length: count }, (_, i) => new FixedFile(i, this, this.generation));
  }

  retire(): void {
    this.generation++;
    this.size = 0;
  }

  /** The table index an op should carry, after checking the handle belongs here and is live. */
  indexOf(file: FixedFile): number {
    if (file.registry !== this) throw SaferRingError.for('ERR_INVALID_ARG_VALUE', 'this FixedFile belongs to another ring');
    if (!file.valid) throw new SaferRingError('ERR_INVALID_STATE', 'this FixedFile was unregistered');
    return file.index;
  }
}
