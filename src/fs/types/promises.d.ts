// Types of safer-ring/fs/promises: exactly node:fs/promises' (@types/node), so
// a program that type-checks against one type-checks against the other.
export * from 'node:fs/promises';
