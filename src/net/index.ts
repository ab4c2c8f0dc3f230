// safer-ring/net: node:net on io_uring, a drop-in replacement.
//
// On the io_uring backend, Socket and Server are node:net's own classes with
// their libuv handles replaced by io_uring ones (see socket.ts, server.ts,
// handle.ts), so programs, and node:http, use them unchanged. On the fallback
// backend (no io_uring, or SAFER_RING_BACKEND=fallback) this module *is*
// node:net. Everything node:net has that does not touch a socket (isIP,
// BlockList, SocketAddress, the autoSelectFamily defaults, ...) is node:net's.
import nodeNet from 'node:net';
import { backend } from '../backend/select';
import { FeatureDetector } from '../features';
import { Agent as RingAgent, createHttpServer as ringCreateHttpServer, HttpServer as RingHttpServer } from './http';
import { connect as ringConnect, Socket as RingSocket } from './socket';
import { createServer as ringCreateServer, createServerHandle, Server as RingServer } from './server';
import http from 'node:http';

/** The io_uring opcodes the sockets need (all there since 5.6). */
const NEEDED_OPS = ['ACCEPT', 'CONNECT', 'SEND', 'RECV', 'ASYNC_CANCEL'];

function ringAvailable(): boolean {
  if (backend().name !== 'io_uring') return false;
  const ops = FeatureDetector.detect().opcodes;
  return NEEDED_OPS.every((op) => ops[op] === true);
}

/** True when this module's sockets run on io_uring; false when it is node:net itself. */
export const usingIoUring: boolean = ringAvailable();

const net: typeof nodeNet = nodeNet;
const any = net as any;

export const Socket: typeof nodeNet.Socket = usingIoUring ? RingSocket : net.Socket;
export const Stream: typeof nodeNet.Socket = Socket;
export const Server: typeof nodeNet.Server = usingIoUring ? RingServer : net.Server;
export const connect: typeof nodeNet.connect = usingIoUring ? (ringConnect as typeof nodeNet.connect) : net.connect;
export const createConnection: typeof nodeNet.createConnection = connect;
export const createServer: typeof nodeNet.createServer = usingIoUring ? (ringCreateServer as typeof nodeNet.createServer) : net.createServer;
export const _createServerHandle: unknown = usingIoUring ? createServerHandle : any._createServerHandle;
export const _normalizeArgs: unknown = any._normalizeArgs;
export const _setSimultaneousAccepts: unknown = any._setSimultaneousAccepts;
export const isIP: typeof nodeNet.isIP = net.isIP;
export const isIPv4: typeof nodeNet.isIPv4 = net.isIPv4;
export const isIPv6: typeof nodeNet.isIPv6 = net.isIPv6;
export const BlockList: typeof nodeNet.BlockList = net.BlockList;
export const SocketAddress: typeof nodeNet.SocketAddress = net.SocketAddress;
export const getDefaultAutoSelectFamily: typeof nodeNet.getDefaultAutoSelectFamily = net.getDefaultAutoSelectFamily;
export const setDefaultAutoSelectFamily: typeof nodeNet.setDefaultAutoSelectFamily = net.setDefaultAutoSelectFamily;
export const getDefaultAutoSelectFamilyAttemptTimeout: typeof nodeNet.getDefaultAutoSelectFamilyAttemptTimeout =
  net.getDefaultAutoSelectFamilyAttemptTimeout;
export const setDefaultAutoSelectFamilyAttemptTimeout: typeof nodeNet.setDefaultAutoSelectFamilyAttemptTimeout =
  net.setDefaultAutoSelectFamilyAttemptTimeout;

// ---- node:http on these sockets ----

/** http.createServer() whose connections are this module's sockets (node:http's own server on the fallback). */
export const createHttpServer: typeof http.createServer = usingIoUring ? (ringCreateHttpServer as typeof http.createServer) : http.createServer;
/** The http.Server class behind createHttpServer. */
export const HttpServer: typeof http.Server = usingIoUring ? RingHttpServer : http.Server;
/** An http.Agent whose connections are this module's sockets. */
export const Agent: typeof http.Agent = usingIoUring ? RingAgent : http.Agent;

/**
 * The whole module as one object, for TypeScript's `import net from
 * 'safer-ring/net'` compiled to CommonJS (with esModuleInterop it reads
 * `.default`). ES modules and `require()` get the same names directly, and
 * see node:net's names only: `default` is not enumerable (below).
 */
const netModule = {
  usingIoUring, Socket, Stream, Server, connect, createConnection, createServer, _createServerHandle, _normalizeArgs,
  _setSimultaneousAccepts, isIP, isIPv4, isIPv6, BlockList, SocketAddress, getDefaultAutoSelectFamily,
  setDefaultAutoSelectFamily, getDefaultAutoSelectFamilyAttemptTimeout, setDefaultAutoSelectFamilyAttemptTimeout,
  createHttpServer, HttpServer, Agent,
};
export default netModule;
Object.defineProperty(exports, 'default', { enumerable: false });
