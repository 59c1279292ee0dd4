// Talking to the host's nameservers for names outside the cluster domain: where they are
// (resolv.conf) and one raw query-response exchange over UDP or TCP. Queries go out as the
// client sent them, so the upstream's answer (ID, flags, EDNS) goes back unchanged.
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { connect, isIP, isIPv6 } from 'node:net';

export interface DnsUpstream {
  host: string;
  port: number;
}

/** Parses `ip`, `ip:port`, `[ipv6]:port` or a bare IPv6 address; the port defaults to 53. */
export function parseDnsUpstream(spec: string): DnsUpstream {
  const text = spec.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let host: string;
  let port = 53;
  if (bracketed) {
    host = bracketed[1] ?? '';
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIPv6(text.replace(/%.*$/, ''))) {
    host = text;
  } else {
    const [address, portText] = text.split(':');
    host = address ?? '';
    if (portText !== undefined) port = Number(portText);
  }
  if (isIP(host.replace(/%.*$/, '')) === 0) {
    throw new Error(`DNS upstream "${spec}": expected an IP address, optionally with :port (e.g. 10.0.0.2:53)`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`DNS upstream "${spec}": port must be 1-65535`);
  }
  return { host, port };
}

/** The `nameserver` addresses of a resolv.conf, in order. */
export function nameserversFromResolvConf(text: string): string[] {
  const servers: string[] = [];
  for (const line of text.split('\n')) {
    const [keyword, address] = line.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (keyword === 'nameserver' && address) servers.push(address);
  }
  return servers;
}

export async function readHostNameservers(path = '/etc/resolv.conf'): Promise<string[]> {
  try {
    return nameserversFromResolvConf(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function abortError(): Error {
  return new Error('DNS exchange aborted: the server is closing');
}

/** One query over UDP; resolves with the first reply carrying the query's ID. */
export function exchangeUdp(upstream: DnsUpstream, query: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const socket = createSocket(isIPv6(upstream.host) ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    let settled = false;
    const finish = (error: Error | undefined, reply?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.close();
      if (error) reject(error);
      else resolve(reply as Buffer);
    };
    const onAbort = (): void => finish(abortError());
    const timer = setTimeout(() => finish(new Error(`DNS upstream ${upstream.host}:${upstream.port} did not answer within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort);
    // A connected socket only receives from the upstream and reports ICMP "port unreachable"
    // as an error, so a dead upstream fails fast instead of timing out.
    socket.on('error', (error) => finish(error));
    socket.on('message', (reply) => {
      if (reply.length >= 12 && reply.readUInt16BE(0) === id) finish(undefined, reply);
    });
    socket.connect(upstream.port, upstream.host, () => {
      if (settled) return;
      socket.send(query, (error) => {
        if (error) finish(error);
      });
    });
  });
}

/** One query over TCP, framed with the two-byte length prefix of RFC 1035 section 4.2.2. */
export function exchangeTcp(upstream: DnsUpstream, query: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const socket = connect({ host: upstream.host, port: upstream.port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (error: Error | undefined, reply?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply as Buffer);
    };
    const onAbort = (): void => finish(abortError());
    const timer = setTimeout(() => finish(new Error(`DNS upstream ${upstream.host}:${upstream.port} (TCP) did not answer within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort);
    socket.on('error', (error) => finish(error));
    socket.on('end', () => finish(new Error(`DNS upstream ${upstream.host}:${upstream.port} (TCP) closed before answering`)));
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const size = received.readUInt16BE(0);
      if (received.length >= 2 + size) finish(undefined, received.subarray(2, 2 + size));
    });
  });
}
