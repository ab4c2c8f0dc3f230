// Types of safer-ring/fs: exactly node:fs's (@types/node), `promises` included.
export * from 'node:fs';
