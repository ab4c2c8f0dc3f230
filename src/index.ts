// Public API of safer-ring.
export { Ring } from './ring/ring';
export type {
  RingOptions, OpOptions, ReadOptions, ReadResult, WriteResult, ReadvResult, WritevResult, OpenOptions,
  StatxOptions, AcceptResult, RingStats, GroupRecvResult, PathLike, PathOptions, UnlinkOptions, RenameOptions, LinkOptions,
  SpliceOptions, Fd,
} from './ring/ring';
export { BufferGroup, GroupBuffer } from './buffers/buffer-group';
export type { BufferGroupOptions, BufferGroupStats } from './buffers/buffer-group';
export { MultiShot } from './ring/multishot';
export type { MultiShotConfig, MultiShotStats, RecvMultiResult } from './ring/multishot';
export { OwnedBuffer, setLeakWarnings } from './buffers/owned-buffer';
export type { BufferTransfer } from './buffers/owned-buffer';
export { BufferPool, PooledBuffer } from './buffers/pool';
export type { BufferPoolStats } from './buffers/pool';
export { PinnedBuffer } from './buffers/pinned-buffer';
export { MAX_BUFFER_SIZE } from './buffers/arena';
export { SaferRingError } from './errors';
export type { SaferRingErrorCode } from './errors';
export { StatxStats } from './fs/statx';
export type { SocketAddress, PeerAddress } from './net/sockaddr';
export { createTcpListener, createTcpSocket, createPipe } from './net/sockets';
export { Runtime } from './runtime/runtime';
export type { RuntimeOptions, RuntimeStats } from './runtime/runtime';
export { Batch, Operation } from './ring/batch';
export type {
  BatchResult, BatchAddOptions, Dependency, OperationKind, OperationBuffer, OperationResult, AnyOperationResult,
} from './ring/batch';
export { SaferRingConfig, ConfigBuilder, validateConfig, detectKernelSupport } from './config';
export type { RingConfig, LoggingConfig, KernelSupport, ValidationResult } from './config';
export { LogLevel, consoleLogger } from './logging';
export type { Logger, LogRecord, LogLevelName } from './logging';
export { PerformanceMetrics } from './metrics';
export type { MetricsSnapshot, OpMetrics, LatencySummary } from './metrics';
export { FeatureDetector, getEnvironmentInfo, isIoUringAvailable, FEATURE_KERNELS } from './features';
export type { EnvironmentInfo, FeatureName } from './features';
export type { BackendName } from './backend/select';
export { FixedFile } from './ring/registry';
