// The cluster DNS server of the local meta cluster: what CoreDNS is in a real cluster. Pods'
// /etc/resolv.conf points here. Names under the cluster domain (and reverse names the table
// knows) are answered from the DNS table; everything else is relayed to the host's nameservers.
// UDP and TCP both: resolvers (Go's among them) retry over TCP when an answer is truncated.
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { isIPv6 } from 'node:net';
import { randomInt } from 'node:crypto';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet } from 'dns-packet';
import type { DnsRecord, DnsTable } from './dns-records.ts';
import { normalizeDnsName } from './dns-records.ts';
import { exchangeTcp, exchangeUdp, parseDnsUpstream, readHostNameservers } from './dns-upstream.ts';
import type { DnsUpstream } from './dns-upstream.ts';

export interface ClusterDnsOptions {
  host: string;
  /** 53 in the meta cluster; 0 picks a free port (the same one for UDP and TCP). */
  port: number;
  /** The current table; called for every query, so swapping the table is a rebuild away. */
  table: () => DnsTable;
  clusterDomain?: string;
  /** Nameservers for other names, `ip` or `ip:port`; default: the host's /etc/resolv.conf. */
  upstream?: string[];
  /** TTL of cluster answers. Short, because pods come and go. Default 5 s. */
  ttlSeconds?: number;
  /** How long one upstream may take before the next is tried. Default 2000 ms. */
  upstreamTimeoutMs?: number;
  /** Unexpected failures (a socket error, a bug); queries never throw to the caller. */
  onError?: (error: Error) => void;
}

export interface ClusterDnsServer {
  address: string;
  port: number;
  /** The upstream nameservers in use, as `host:port`. */
  upstream: readonly string[];
  close(): Promise<void>;
}

const rcodes = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = (typeof rcodes)[keyof typeof rcodes];

const plainDnsUdpLimit = 512;
// The EDNS buffer size the DNS flag day 2020 settled on: no IP fragmentation on common paths.
const ednsUdpPayloadSize = 1232;
const maxCnameChain = 8;
const maxPendingForwards = 512;
const tcpIdleTimeoutMs = 10_000;

interface LocalAnswer {
  rcode: Rcode;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

function toAnswer(name: string, record: DnsRecord, ttl: number): Answer {
  switch (record.type) {
    case 'A':
      return { type: 'A', name, ttl, class: 'IN', data: record.address };
    case 'CNAME':
      return { type: 'CNAME', name, ttl, class: 'IN', data: record.target };
    case 'PTR':
      return { type: 'PTR', name, ttl, class: 'IN', data: record.target };
    case 'SRV':
      return { type: 'SRV', name, ttl, class: 'IN', data: { priority: record.priority, weight: record.weight, port: record.port, target: record.target } };
    case 'TXT':
      return { type: 'TXT', name, ttl, class: 'IN', data: record.text };
  }
}

// A response repeats the query's opcode and RD bit (RFC 1035 section 4.1.1).
const opcodeMask = 0xf << 11;

function queryFlags(query: DecodedPacket): number {
  return (query.flags ?? 0) & (opcodeMask | dnsPacket.RECURSION_DESIRED);
}

function encodeResponse(query: DecodedPacket, rcode: Rcode, body: Omit<LocalAnswer, 'rcode'>, extraFlags = 0): Buffer {
  const packet: Packet = {
    type: 'response',
    id: query.id ?? 0,
    flags: queryFlags(query) | dnsPacket.RECURSION_AVAILABLE | extraFlags | rcode,
    questions: query.questions ?? [],
    answers: body.answers,
    authorities: body.authorities,
    additionals: body.additionals,
  };
  return dnsPacket.encode(packet);
}

function errorResponse(query: DecodedPacket, rcode: Rcode): Buffer {
  return encodeResponse(query, rcode, { answers: [], authorities: [], additionals: [] });
}

function ednsOf(query: DecodedPacket): { udpPayloadSize: number } | undefined {
  const opt = query.additionals?.find((a) => a.type === 'OPT');
  return opt && opt.type === 'OPT' ? { udpPayloadSize: opt.udpPayloadSize } : undefined;
}

export async function startClusterDns(options: ClusterDnsOptions): Promise<ClusterDnsServer> {
  const clusterDomain = normalizeDnsName(options.clusterDomain ?? 'cluster.local');
  const ttl = options.ttlSeconds ?? 5;
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? 2000;
  const onError = options.onError ?? (() => {});
  const upstreamSpecs = options.upstream ?? (await readHostNameservers());

  const closing = new AbortController();
  const tcpConnections = new Set<Socket>();
  let pendingForwards = 0;
  let upstreams: DnsUpstream[] = upstreamSpecs.map(parseDnsUpstream);

  // The zone's SOA goes into negative answers so resolvers may cache them (RFC 2308) for one TTL.
  const soaSerial = Math.floor(Date.now() / 1000);
  const soa = (): Answer => ({
    type: 'SOA',
    name: clusterDomain,
    ttl,
    class: 'IN',
    data: { mname: `ns.dns.${clusterDomain}`, rname: `hostmaster.${clusterDomain}`, serial: soaSerial, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  });

  async function forward(query: Buffer, overTcp: boolean): Promise<Buffer> {
    if (upstreams.length === 0) throw new Error('no upstream nameservers configured');
    if (pendingForwards >= maxPendingForwards) throw new Error(`more than ${maxPendingForwards} queries waiting for upstream nameservers`);
    pendingForwards++;
    try {
      let lastError: unknown;
      for (const upstream of upstreams) {
        try {
          const reply = await exchangeUdp(upstream, query, upstreamTimeoutMs, closing.signal);
          const truncated = reply.length >= 4 && (reply.readUInt16BE(2) & dnsPacket.TRUNCATED_RESPONSE) !== 0;
          // A TCP client can take any size, so fetch the whole answer rather than relay the cut one.
          if (overTcp && truncated) return await exchangeTcp(upstream, query, upstreamTimeoutMs, closing.signal);
          return reply;
        } catch (error) {
          lastError = error;
          if (closing.signal.aborted) break;
        }
      }
      throw lastError instanceof Error ? lastError : new Error(String(lastError));
    } finally {
      pendingForwards--;
    }
  }

  // An ExternalName alias that leaves the cluster is resolved upstream, as CoreDNS does, because
  // stub resolvers (glibc, musl, Go) expect the final address in the same answer.
  async function resolveOutside(name: string, type: string): Promise<Answer[]> {
    try {
      const query = dnsPacket.encode({
        type: 'query',
        id: randomInt(0, 65536),
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ name, type: type as Answer['type'], class: 'IN' }],
      });
      const reply = dnsPacket.decode(await forward(query, false));
      return (reply.answers ?? []).filter((a) => a.type !== 'OPT');
    } catch {
      return [];
    }
  }

  async function answerLocally(table: DnsTable, questionName: string, type: string): Promise<LocalAnswer> {
    const result: LocalAnswer = { rcode: rcodes.NOERROR, answers: [], authorities: [], additionals: [] };
    let name = questionName;
    for (let depth = 0; depth < maxCnameChain; depth++) {
      const records = table.lookup(name, type);
      if (records === undefined) {
        if (table.isClusterName(name)) {
          result.rcode = rcodes.NXDOMAIN;
          result.authorities.push(soa());
        }
        return result;
      }
      if (type === 'SOA' && normalizeDnsName(name) === clusterDomain) result.answers.push(soa());
      for (const record of records) result.answers.push(toAnswer(name, record, ttl));
      const alias = records.length === 1 && records[0]?.type === 'CNAME' && type !== 'CNAME' && type !== 'ANY' ? records[0] : undefined;
      if (!alias) break;
      if (table.lookup(alias.target, type) === undefined && !table.isClusterName(alias.target)) {
        result.answers.push(...(await resolveOutside(alias.target, type)));
        return result;
      }
      name = alias.target;
    }
    if (result.answers.length === 0 && table.isClusterName(name)) result.authorities.push(soa());
    for (const answer of result.answers) {
      if (answer.type !== 'SRV') continue;
      for (const record of table.lookup(answer.data.target, 'A') ?? []) {
        if (record.type === 'A') result.additionals.push(toAnswer(answer.data.target, record, ttl));
      }
    }
    return result;
  }

  /** The reply to one message, or undefined to stay silent (garbage, or not a query). */
  async function respond(message: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return undefined;
    }
    if (query.flag_qr) return undefined;
    if (((query.flags ?? 0) & opcodeMask) !== 0) return errorResponse(query, rcodes.NOTIMP); // only QUERY
    const question = query.questions?.[0];
    if (!question || query.questions?.length !== 1) return errorResponse(query, rcodes.FORMERR);

    const table = options.table();
    const local = table.isClusterName(question.name) || table.lookup(question.name, question.type) !== undefined;
    if (!local) {
      try {
        return await forward(message, transport === 'tcp');
      } catch {
        return errorResponse(query, rcodes.SERVFAIL);
      }
    }
    if (question.class !== undefined && question.class !== 'IN' && question.class !== 'ANY') return errorResponse(query, rcodes.REFUSED);

    const result = await answerLocally(table, question.name, question.type);
    const edns = ednsOf(query);
    if (edns) result.additionals.push({ type: 'OPT', name: '.', udpPayloadSize: ednsUdpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] });
    let reply = encodeResponse(query, result.rcode, result, dnsPacket.AUTHORITATIVE_ANSWER);
    const limit = transport === 'tcp' ? 65535 : edns ? Math.min(Math.max(edns.udpPayloadSize, plainDnsUdpLimit), 4096) : plainDnsUdpLimit;
    if (reply.length > limit) {
      // Too big for this transport: say so with TC, and the client asks again over TCP.
      const keep = result.additionals.filter((a) => a.type === 'OPT');
      reply = encodeResponse(query, result.rcode, { answers: [], authorities: [], additionals: keep }, dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.TRUNCATED_RESPONSE);
    }
    return reply;
  }

  function reportError(error: unknown): void {
    onError(error instanceof Error ? error : new Error(String(error)));
  }

  function handleTcpConnection(socket: Socket): void {
    tcpConnections.add(socket);
    socket.on('close', () => tcpConnections.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(tcpIdleTimeoutMs, () => socket.destroy());
    let buffered: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const size = buffered.readUInt16BE(0);
        if (buffered.length < 2 + size) break;
        const message = buffered.subarray(2, 2 + size);
        buffered = buffered.subarray(2 + size);
        respond(message, 'tcp').then(
          (reply) => {
            if (socket.destroyed) return;
            if (!reply) {
              socket.destroy(); // garbage on a stream: stop talking to this client
              return;
            }
            const length = Buffer.alloc(2);
            length.writeUInt16BE(reply.length);
            socket.write(Buffer.concat([length, reply]));
          },
          (error: unknown) => {
            reportError(error);
            socket.destroy();
          },
        );
      }
    });
  }

  const { udp, tcp, port } = await bindUdpAndTcp(options.host, options.port, handleTcpConnection);
  udp.on('message', (message, peer) => {
    respond(message, 'udp').then(
      (reply) => {
        if (reply && !closing.signal.aborted) udp.send(reply, peer.port, peer.address, (error) => error && reportError(error));
      },
      reportError,
    );
  });
  udp.on('error', reportError);
  tcp.on('error', reportError);
  // Never relay to ourselves: the host's resolv.conf could name this very server.
  upstreams = upstreams.filter((u) => !(u.port === port && u.host === options.host));

  let closed: Promise<void> | undefined;
  return {
    address: options.host,
    port,
    upstream: upstreams.map((u) => (isIPv6(u.host) ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`)),
    close() {
      closed ??= (async () => {
        closing.abort();
        for (const socket of tcpConnections) socket.destroy();
        await Promise.all([
          new Promise<void>((resolve) => udp.close(() => resolve())),
          new Promise<void>((resolve) => tcp.close(() => resolve())),
        ]);
      })();
      return closed;
    },
  };
}

// UDP and TCP must share one port. With port 0 the UDP port is picked first and its TCP twin
// may be taken by another program, so try again with fresh sockets (a dgram socket cannot rebind).
async function bindUdpAndTcp(host: string, port: number, onConnection: (socket: Socket) => void): Promise<{ udp: UdpSocket; tcp: Server; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const udp = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    const udpPort = await new Promise<number>((resolve, reject) => {
      udp.once('error', (error) => reject(new Error(`cluster DNS: cannot bind UDP ${host}:${port}: ${error.message}`)));
      udp.bind(port, host, () => resolve(udp.address().port));
    });
    udp.removeAllListeners('error');
    const tcp = createServer(onConnection);
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(udpPort, host, () => resolve());
      });
      tcp.removeAllListeners('error');
      return { udp, tcp, port: udpPort };
    } catch (error) {
      udp.close();
      const code = (error as NodeJS.ErrnoException).code;
      if (port !== 0 && code === 'EADDRINUSE') throw new Error(`cluster DNS: TCP ${host}:${udpPort} is in use by another program; stop it or pick another port`, { cause: error });
      if (port !== 0 || code !== 'EADDRINUSE' || attempt >= 10) {
        throw new Error(`cluster DNS: cannot listen on TCP ${host}:${udpPort}: ${(error as Error).message}`, { cause: error });
      }
    }
  }
}
