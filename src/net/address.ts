// Socket addresses for the net handles: struct sockaddr_in / sockaddr_in6 /
// sockaddr_un in and out, with addresses printed the way libuv prints them
// (uv_ip4_name / uv_ip6_name), since node:net reports libuv's text.
import { isIPv4 } from 'node:net';

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
/** sizeof(sun_path) on Linux. */
export const UNIX_PATH_MAX = 108;

/** What node:net's getsockname()/getpeername() fill in. */
export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

/** sockaddr_in for an IPv4 literal, or null if it is not one. */
export function sockaddrIn(host: string, port: number): Uint8Array | null {
  const parts = host.split('.');
  if (parts.length !== 4 || !isIPv4(host)) return null;
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port & 0xffff, false);
  for (let i = 0; i < 4; i++) out[4 + i] = Number(parts[i]);
  return out;
}

/** sockaddr_in6 for an IPv6 literal (a `%zone` suffix must be numeric), or null if it cannot be parsed. */
export function sockaddrIn6(host: string, port: number): Uint8Array | null {
  let text = host;
  let scope = 0;
  const pct = text.indexOf('%');
  if (pct >= 0) {
    const zone = text.slice(pct + 1);
    scope = /^\d+$/.test(zone) ? Number(zone) : 0;
    text = text.slice(0, pct);
  }
  const words = parseIPv6(text);
  if (words === null) return null;
  const out = new Uint8Array(28);
  const view = new DataView(out.buffer);
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, port & 0xffff, false);
  for (let i = 0; i < 8; i++) view.setUint16(8 + i * 2, words[i], false);
  view.setUint32(24, scope >>> 0, true);
  return out;
}

/**
 * sockaddr_un for a path, as libuv builds it: a name longer than sun_path is
 * cut to fit (libuv's documented behaviour), a filesystem path passes the
 * whole structure, and a leading NUL names the abstract namespace (its exact length).
 */
export function sockaddrUn(path: string): { sockaddr: Uint8Array; name: string } {
  let name = Buffer.from(path);
  if (name.length > UNIX_PATH_MAX) name = name.subarray(0, UNIX_PATH_MAX);
  const abstract = name.length > 0 && name[0] === 0;
  const out = new Uint8Array(abstract ? 2 + name.length : 2 + UNIX_PATH_MAX);
  new DataView(out.buffer).setUint16(0, AF_UNIX, true);
  out.set(name, 2);
  return { sockaddr: out, name: name.toString() };
}

export function addressFamily(bytes: Uint8Array): number {
  return bytes.byteLength >= 2 ? bytes[0] | (bytes[1] << 8) : -1;
}

/** Fills `out` from a raw sockaddr; false for a family node:net does not report (unix). */
export function decodeAddress(bytes: Uint8Array, out: Partial<AddressInfo>): boolean {
  const family = addressFamily(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (family === AF_INET && bytes.byteLength >= 8) {
    out.address = `${bytes[4]}.${bytes[5]}.${bytes[6]}.${bytes[7]}`;
    out.family = 'IPv4';
    out.port = view.getUint16(2, false);
    return true;
  }
  if (family === AF_INET6 && bytes.byteLength >= 24) {
    const words: number[] = [];
    for (let i = 0; i < 8; i++) words.push(view.getUint16(8 + i * 2, false));
    let text = formatIPv6(words);
    const scope = bytes.byteLength >= 28 ? view.getUint32(24, true) : 0;
    if (scope !== 0) text += `%${scope}`;
    out.address = text;
    out.family = 'IPv6';
    out.port = view.getUint16(2, false);
    return true;
  }
  return false;
}

/** The eight 16-bit words of an IPv6 literal (with an optional dotted IPv4 tail), or null. */
function parseIPv6(text: string): number[] | null {
  let s = text;
  const tail: number[] = [];
  const v4 = /(?:^|:)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(s);
  if (v4) {
    const p = v4[1].split('.').map(Number);
    if (p.some((x) => x > 255)) return null;
    tail.push((p[0] << 8) | p[1], (p[2] << 8) | p[3]);
    s = s.slice(0, s.length - v4[1].length);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((w) => (/^[0-9a-fA-F]{1,4}$/.test(w) ? parseInt(w, 16) : NaN)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const total = head.length + rest.length + tail.length;
  if ([...head, ...rest].some(Number.isNaN)) return null;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const fill = new Array(8 - total).fill(0);
  return [...head, ...fill, ...rest, ...tail];
}

/** libuv's inet_ntop6: the longest run (>= 2) of zero words becomes '::'; v4-mapped/compatible tails print dotted. */
function formatIPv6(words: number[]): string {
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${words[6] >> 8}.${words[6] & 255}.${words[7] >> 8}.${words[7] & 255}`;
      return out;
    }
    out += words[i].toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}
