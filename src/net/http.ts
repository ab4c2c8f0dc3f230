// node:http on this module's sockets, unchanged. node:http's Server is a
// node:net Server: giving its class this module's listen path makes every
// connection it accepts an io_uring Socket, and node:http's parser reads it
// like any other stream. Clients: an http.Agent whose createConnection is
// this module's connect (or pass `createConnection` to http.request).
import http from 'node:http';
import { useRingListen } from './server';
import { connect } from './socket';

/** An http.Server whose connections are accepted and served through io_uring. */
export class HttpServer extends http.Server {}
useRingListen(HttpServer.prototype);

/** http.createServer(), on io_uring sockets. */
export function createHttpServer(requestListener?: http.RequestListener): http.Server;
export function createHttpServer(options: http.ServerOptions, requestListener?: http.RequestListener): http.Server;
export function createHttpServer(options?: unknown, requestListener?: unknown): http.Server {
  return new (HttpServer as any)(options, requestListener);
}

/** An http.Agent that opens its connections with this module's connect(). */
export class Agent extends http.Agent {
  override createConnection(options: any, callback?: any): any {
    return connect(options, callback);
  }
}
