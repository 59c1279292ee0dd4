import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, Packet } from 'dns-packet';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { buildDnsTable } from './dns-records.ts';
import type { DnsTable } from './dns-records.ts';
import { startClusterDns } from './cluster-dns-server.ts';
import type { ClusterDnsServer } from './cluster-dns-server.ts';

function pod(name: string, ip: string, hostname?: string): V1Pod {
  return {
    metadata: { name, namespace: 'default', labels: { app: 'etcd' } },
    spec: { containers: [{ name: 'etcd', ports: [{ name: 'peer', containerPort: 2380 }] }], ...(hostname ? { hostname, subdomain: 'etcd' } : {}) },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const services: V1Service[] = [
  { metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '127.96.0.1', ports: [{ name: 'https', port: 443 }] } },
  { metadata: { name: 'etcd', namespace: 'default' }, spec: { clusterIP: 'None', selector: { app: 'etcd' }, ports: [{ name: 'peer', port: 2380, targetPort: 'peer' }] } },
  { metadata: { name: 'search', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'www.example.test' } },
  { metadata: { name: 'api-alias', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'kubernetes.default.svc.cluster.local' } },
  { metadata: { name: 'crowd', namespace: 'default' }, spec: { clusterIP: 'None', selector: { app: 'crowd' } } },
];
const crowd: V1Pod[] = Array.from({ length: 60 }, (_, i) => ({
  metadata: { name: `crowd-${i}`, namespace: 'default', labels: { app: 'crowd' } },
  spec: { containers: [{ name: 'main' }] },
  status: { phase: 'Running', podIP: `127.2.0.${i + 1}`, conditions: [{ type: 'Ready', status: 'True' }] },
}));
const pods = [pod('etcd-0', '127.1.0.10', 'etcd-0'), pod('etcd-1', '127.1.0.11', 'etcd-1'), ...crowd];

// A stand-in for the host's nameserver: answers a few names over UDP and TCP, counts queries.
interface FakeUpstream {
  port: number;
  queries: string[];
  close(): Promise<void>;
}

function upstreamAnswer(query: Packet): Buffer {
  const question = query.questions?.[0];
  const name = question?.name.toLowerCase() ?? '';
  let answers: Answer[] = [];
  if (name === 'example.test' || name === 'www.example.test') answers = [{ type: 'A', name: question?.name ?? '', ttl: 60, data: '192.0.2.7' }];
  if (name === 'big.example.test') answers = Array.from({ length: 80 }, (_, i) => ({ type: 'A' as const, name: question?.name ?? '', ttl: 60, data: `198.51.100.${i + 1}` }));
  const known = answers.length > 0;
  return dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags: dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3), questions: query.questions ?? [], answers });
}

async function startFakeUpstream(): Promise<FakeUpstream> {
  const queries: string[] = [];
  const udp = createSocket('udp4');
  udp.on('message', (message, peer) => {
    const query = dnsPacket.decode(message);
    queries.push(`udp ${query.questions?.[0]?.name}`);
    let reply = upstreamAnswer(query);
    if (reply.length > 512) {
      reply = dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags: dnsPacket.TRUNCATED_RESPONSE, questions: query.questions ?? [] });
    }
    udp.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const port = udp.address().port;
  const tcp: Server = createServer((socket) => {
    socket.once('data', (chunk: Buffer) => {
      const query = dnsPacket.decode(chunk.subarray(2));
      queries.push(`tcp ${query.questions?.[0]?.name}`);
      const reply = upstreamAnswer(query);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(reply.length);
      socket.end(Buffer.concat([length, reply]));
    });
  });
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
  return {
    port,
    queries,
    close: async () => {
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}

function udpExchange(port: number, message: Buffer, waitMs = 1500): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, waitMs);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.send(message, port, '127.0.0.1');
  });
}

function tcpExchange(port: number, framed: Buffer): Promise<{ reply?: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    socket.setTimeout(3000, () => reject(new Error('TCP DNS exchange timed out')));
    socket.on('error', reject);
    socket.on('connect', () => socket.write(framed));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.destroy();
        resolve({ reply: received.subarray(2, 2 + received.readUInt16BE(0)), closed: false });
      }
    });
    socket.on('end', () => resolve({ closed: true }));
  });
}

function query(name: string, type: 'A' | 'SRV' | 'AAAA', extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], ...extra });
}

let table: DnsTable = buildDnsTable({ services, pods });
let upstream: FakeUpstream;
let server: ClusterDnsServer;
let resolver: Resolver;

before(async () => {
  upstream = await startFakeUpstream();
  server = await startClusterDns({ host: '127.0.0.1', port: 0, table: () => table, clusterDomain: 'cluster.local', upstream: [`127.0.0.1:${upstream.port}`] });
  resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${server.port}`]);
});

after(async () => {
  await server.close();
  await upstream.close();
});

void test('serves A records of a ClusterIP Service to a real resolver', async () => {
  assert.ok(server.port > 1024, 'an unprivileged port was picked');
  assert.deepEqual(await resolver.resolve4('kubernetes.default.svc.cluster.local'), ['127.96.0.1']);
  assert.deepEqual(await resolver.resolve4('KUBERNETES.default.svc.cluster.local.'), ['127.96.0.1']);
});

void test('resolves StatefulSet peers by their headless DNS names', async () => {
  assert.deepEqual(await resolver.resolve4('etcd-1.etcd.default.svc.cluster.local'), ['127.1.0.11']);
  assert.deepEqual((await resolver.resolve4('etcd.default.svc.cluster.local')).sort(), ['127.1.0.10', '127.1.0.11']);
});

void test('serves SRV records of named ports', async () => {
  const records = await resolver.resolveSrv('_peer._tcp.etcd.default.svc.cluster.local');
  assert.deepEqual(
    records.map((r) => `${r.name}:${r.port}`).sort(),
    ['etcd-0.etcd.default.svc.cluster.local:2380', 'etcd-1.etcd.default.svc.cluster.local:2380'],
  );
});

void test('puts the A records of SRV targets in the additional section', async () => {
  const reply = dnsPacket.decode((await udpExchange(server.port, query('_https._tcp.kubernetes.default.svc.cluster.local', 'SRV'))) as Buffer);
  assert.deepEqual(reply.additionals?.map((a) => [a.name, a.type === 'A' ? a.data : undefined]), [['kubernetes.default.svc.cluster.local', '127.96.0.1']]);
});

void test('answers PTR queries for ClusterIPs', async () => {
  assert.deepEqual(await resolver.reverse('127.96.0.1'), ['kubernetes.default.svc.cluster.local']);
});

void test('an unknown cluster name is NXDOMAIN, authoritative, with the zone SOA, and never goes upstream', async () => {
  const before = upstream.queries.length;
  await assert.rejects(resolver.resolve4('nope.default.svc.cluster.local'), { code: 'ENOTFOUND' });
  const reply = dnsPacket.decode((await udpExchange(server.port, query('nope.default.svc.cluster.local', 'A'))) as Buffer);
  assert.equal(reply.flags !== undefined && (reply.flags & 0xf), 3);
  assert.equal(reply.flag_aa, true);
  assert.deepEqual(reply.authorities?.map((a) => [a.type, a.name, a.type === 'OPT' ? undefined : a.ttl]), [['SOA', 'cluster.local', 5]]);
  assert.equal(upstream.queries.length, before);
});

void test('a known name without records of the type is NOERROR with no answers', async () => {
  await assert.rejects(resolver.resolve6('kubernetes.default.svc.cluster.local'), { code: 'ENODATA' });
  const reply = dnsPacket.decode((await udpExchange(server.port, query('kubernetes.default.svc.cluster.local', 'AAAA'))) as Buffer);
  assert.equal((reply.flags ?? -1) & 0xf, 0);
  assert.deepEqual(reply.answers, []);
});

void test('cluster answers carry a short TTL and echo the question', async () => {
  const reply = dnsPacket.decode((await udpExchange(server.port, query('Kubernetes.Default.svc.cluster.local', 'A'))) as Buffer);
  assert.equal(reply.id, 4242);
  assert.equal(reply.flag_rd, true);
  assert.deepEqual(reply.questions, [{ name: 'Kubernetes.Default.svc.cluster.local', type: 'A', class: 'IN' }]);
  assert.deepEqual(reply.answers?.map((a) => [a.name, a.type === 'OPT' ? undefined : a.ttl]), [['Kubernetes.Default.svc.cluster.local', 5]]);
});

void test('answers a raw query over TCP', async () => {
  const { reply } = await tcpExchange(server.port, dnsPacket.streamEncode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'etcd-0.etcd.default.svc.cluster.local', type: 'A' }] }));
  assert.ok(reply);
  const decoded = dnsPacket.decode(reply);
  assert.equal(decoded.id, 7);
  assert.deepEqual(decoded.answers?.map((a) => (a.type === 'A' ? a.data : a.type)), ['127.1.0.10']);
});

void test('answers pipelined queries on one TCP connection', async () => {
  const framed = Buffer.concat([
    dnsPacket.streamEncode({ type: 'query', id: 1, questions: [{ name: 'etcd-0.etcd.default.svc.cluster.local', type: 'A' }] }),
    dnsPacket.streamEncode({ type: 'query', id: 2, questions: [{ name: 'etcd-1.etcd.default.svc.cluster.local', type: 'A' }] }),
  ]);
  const replies = await new Promise<number[]>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port }, () => socket.write(framed));
    let received = Buffer.alloc(0);
    const ids: number[] = [];
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        ids.push(dnsPacket.decode(received.subarray(2, 2 + received.readUInt16BE(0))).id ?? -1);
        received = received.subarray(2 + received.readUInt16BE(0));
      }
      if (ids.length === 2) {
        socket.destroy();
        resolve(ids.sort());
      }
    });
  });
  assert.deepEqual(replies, [1, 2]);
});

void test('an answer too big for UDP is truncated there and whole over TCP, and resolvers get all of it', async () => {
  const udpReply = dnsPacket.decode((await udpExchange(server.port, query('crowd.default.svc.cluster.local', 'A'))) as Buffer);
  assert.equal(udpReply.flag_tc, true);
  assert.deepEqual(udpReply.answers, []);
  const { reply } = await tcpExchange(server.port, dnsPacket.streamEncode({ type: 'query', id: 9, questions: [{ name: 'crowd.default.svc.cluster.local', type: 'A' }] }));
  assert.equal(dnsPacket.decode(reply as Buffer).answers?.length, 60);
  assert.equal((await resolver.resolve4('crowd.default.svc.cluster.local')).length, 60);
});

void test('an EDNS query may receive a larger UDP answer, and the reply carries OPT', async () => {
  const edns = query('crowd.default.svc.cluster.local', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] });
  const reply = dnsPacket.decode((await udpExchange(server.port, edns)) as Buffer);
  assert.equal(reply.flag_tc, false);
  assert.equal(reply.answers?.length, 60);
  assert.deepEqual(reply.additionals?.map((a) => a.type), ['OPT']);
});

void test('forwards other names to the upstream nameserver', async () => {
  assert.deepEqual(await resolver.resolve4('example.test'), ['192.0.2.7']);
  assert.ok(upstream.queries.includes('udp example.test'));
  await assert.rejects(resolver.resolve4('missing.example.test'), { code: 'ENOTFOUND' });
});

void test('a truncated upstream answer is fetched again over TCP for a TCP client', async () => {
  const udpReply = dnsPacket.decode((await udpExchange(server.port, query('big.example.test', 'A'))) as Buffer);
  assert.equal(udpReply.flag_tc, true, 'a UDP client sees the truncation and retries over TCP');
  assert.equal((await resolver.resolve4('big.example.test')).length, 80);
  assert.ok(upstream.queries.includes('tcp big.example.test'));
});

void test('an ExternalName Service answers its CNAME and the address behind it', async () => {
  const reply = dnsPacket.decode((await udpExchange(server.port, query('search.default.svc.cluster.local', 'A'))) as Buffer);
  assert.deepEqual(reply.answers?.map((a) => [a.type, a.name, a.type === 'A' || a.type === 'CNAME' ? a.data : '']), [
    ['CNAME', 'search.default.svc.cluster.local', 'www.example.test'],
    ['A', 'www.example.test', '192.0.2.7'],
  ]);
  assert.deepEqual(await resolver.resolve4('search.default.svc.cluster.local'), ['192.0.2.7']);
});

void test('an ExternalName pointing inside the cluster is followed from the table', async () => {
  const before = upstream.queries.length;
  const reply = dnsPacket.decode((await udpExchange(server.port, query('api-alias.default.svc.cluster.local', 'A'))) as Buffer);
  assert.deepEqual(reply.answers?.map((a) => [a.type, a.name]), [
    ['CNAME', 'api-alias.default.svc.cluster.local'],
    ['A', 'kubernetes.default.svc.cluster.local'],
  ]);
  assert.equal(upstream.queries.length, before);
});

void test('reverse names the table does not hold go upstream', async () => {
  const before = upstream.queries.length;
  await assert.rejects(resolver.reverse('127.55.0.1'), { code: 'ENOTFOUND' });
  assert.equal(upstream.queries.length, before + 1);
});

void test('SERVFAIL when no upstream answers', async () => {
  const dead = createSocket('udp4');
  await new Promise<void>((resolve) => dead.bind(0, '127.0.0.1', resolve));
  const deadPort = dead.address().port;
  dead.close(); // nobody listens there any more: the upstream refuses
  const lonely = await startClusterDns({ host: '127.0.0.1', port: 0, table: () => table, upstream: [`127.0.0.1:${deadPort}`], upstreamTimeoutMs: 500 });
  try {
    const local = new Resolver({ timeout: 3000, tries: 1 });
    local.setServers([`127.0.0.1:${lonely.port}`]);
    await assert.rejects(local.resolve4('example.test'), { code: 'ESERVFAIL' });
    assert.deepEqual(await local.resolve4('kubernetes.default.svc.cluster.local'), ['127.96.0.1']);
  } finally {
    await lonely.close();
  }
});

void test('ignores malformed packets and keeps serving', async () => {
  const header = (qdcount: number, flags = 0): Buffer => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(77, 0);
    h.writeUInt16BE(flags, 2);
    h.writeUInt16BE(qdcount, 4);
    return h;
  };
  const garbage = [
    Buffer.from([1, 2, 3]),
    header(1), // claims a question that is not there
    Buffer.concat([header(1), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]), // a name pointing at itself
    Buffer.concat([header(1), Buffer.from([0x45, 0x61])]), // a label running past the end
    header(0, 0x8000), // a response, not a query
  ];
  for (const message of garbage) assert.equal(await udpExchange(server.port, message, 300), undefined);
  const { closed } = await tcpExchange(server.port, Buffer.concat([Buffer.from([0, 3]), Buffer.from([9, 9, 9])]));
  assert.equal(closed, true, 'garbage on TCP closes the connection');
  assert.deepEqual(await resolver.resolve4('kubernetes.default.svc.cluster.local'), ['127.96.0.1']);
});

void test('a query without a question is a format error', async () => {
  const reply = await udpExchange(server.port, dnsPacket.encode({ type: 'query', id: 5, questions: [] }));
  assert.ok(reply);
  assert.equal((dnsPacket.decode(reply).flags ?? -1) & 0xf, 1);
});

void test('other opcodes than QUERY are not implemented, and the reply says so with the same opcode', async () => {
  const status = dnsPacket.encode({ type: 'query', id: 6, flags: 2 << 11, questions: [{ name: 'kubernetes.default.svc.cluster.local', type: 'A' }] });
  const reply = await udpExchange(server.port, status);
  assert.ok(reply);
  const flags = dnsPacket.decode(reply).flags ?? -1;
  assert.equal(flags & 0xf, 4);
  assert.equal((flags >> 11) & 0xf, 2);
});

void test('answers from the newest table without a restart', async () => {
  const previous = table;
  table = buildDnsTable({ services: [...services, { metadata: { name: 'late', namespace: 'default' }, spec: { clusterIP: '127.96.0.77' } }], pods });
  try {
    assert.deepEqual(await resolver.resolve4('late.default.svc.cluster.local'), ['127.96.0.77']);
  } finally {
    table = previous;
  }
});

void test('the dns-version TXT record is served', async () => {
  assert.deepEqual(await resolver.resolveTxt('dns-version.cluster.local'), [['1.0.1']]);
});
