// struct sockaddr_in / sockaddr_in6 encoding, for connect, bind and accept.
import { isIP } from 'node:net';
import { invalidType, invalidValue, checkInteger } from '../validate';

export const AF_INET = 2;
export const AF_INET6 = 10;

export interface SocketAddress {
  /** An IPv4 or IPv6 literal (no name lookup is done). */
  host: string;
  port: number;
}

export interface PeerAddress extends SocketAddress {
  family: 'IPv4' | 'IPv6';
}

export function checkAddress(value: unknown): SocketAddress {
  if (value === null || typeof value !== 'object') throw invalidType('address', 'of type object', value);
  const { host, port } = value as SocketAddress;
  if (typeof host !== 'string') throw invalidType('address.host', 'of type string', host);
  if (isIP(host) === 0) throw invalidValue('address.host', 'must be an IPv4 or IPv6 address literal', host);
  checkInteger('address.port', port, 0, 65535);
  return { host, port };
}

/** Writes the address into `out` (at least 28 bytes) and returns its length. */
export function encodeSockaddr(addr: SocketAddress, out: Uint8Array): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.fill(0, 0, 28);
  if (isIP(addr.host) === 4) {
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, addr.port, false);
    addr.host.split('.').forEach((part, i) => view.setUint8(4 + i, Number(part)));
    return 16;
  }
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, addr.port, false);
  const words = expandIPv6(addr.host);
  words.forEach((w, i) => view.setUint16(8 + i * 2, w, false));
  return 28;
}

export function decodeSockaddr(bytes: Uint8Array): PeerAddress | null {
  if (bytes.byteLength < 2) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const family = view.getUint16(0, true);
  if (family === AF_INET && bytes.byteLength >= 8) {
    return { family: 'IPv4', host: Array.from(bytes.subarray(4, 8)).join('.'), port: view.getUint16(2, false) };
  }
  if (family === AF_INET6 && bytes.byteLength >= 24) {
    const words: string[] = [];
    for (let i = 0; i < 8; i++) words.push(view.getUint16(8 + i * 2, false).toString(16));
    return { family: 'IPv6', host: compressIPv6(words), port: view.getUint16(2, false) };
  }
  return null;
}

function expandIPv6(host: string): number[] {
  let text = host;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const p = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + `${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((x) => parseInt(x, 16));
}

function compressIPv6(words: string[]): string {
  const text = words.join(':');
  const runs = text.match(/(^|:)0(:0)+(:|$)/g);
  if (!runs) return text;
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a));
  return text.replace(longest, '::');
}
