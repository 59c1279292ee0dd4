// The control plane's way into the hosts (kubelet logs, exec, port-forward, webhooks): an HTTP
// CONNECT proxy on a Unix socket, named in the guest API server's egress selector for `cluster`
// traffic. Each tunnel is dialled from inside the switch namespace, which routes to every host
// and every pod subnet. On a real meta cluster this path is Konnectivity; see docs/hosts.md.
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { stringify } from 'yaml';

/** A tunnel's far end: a process whose stdin/stdout is the TCP connection. */
export type Dialer = (host: string, port: number) => { stdin: NodeJS.WritableStream; stdout: NodeJS.ReadableStream; kill: () => void; onExit: (listener: () => void) => void };

/** Dials with socat from inside a network namespace (nsenter --net). */
export function namespaceDialer(namespacePath: string): Dialer {
  return (host, port) => {
    const child = spawn('nsenter', [`--net=${namespacePath}`, 'socat', 'STDIO', `TCP:${host}:${port},connect-timeout=10`], { stdio: ['pipe', 'pipe', 'ignore'] });
    return { stdin: child.stdin, stdout: child.stdout, kill: () => child.kill('SIGTERM'), onExit: (listener) => child.on('exit', listener) };
  };
}

const TARGET = /^CONNECT ([0-9A-Za-z.:[\]-]+):(\d{1,5}) HTTP\/1\.[01]\r\n/;

function handle(socket: Socket, dial: Dialer): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) {
      if (head.length > 8192) socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n');
      return;
    }
    socket.off('data', onData);
    const match = TARGET.exec(head.subarray(0, end + 2).toString('latin1'));
    if (!match) {
      socket.end('HTTP/1.1 405 Method Not Allowed\r\n\r\nonly CONNECT host:port is proxied\n');
      return;
    }
    const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
    const tunnel = dial(host, Number(match[2]));
    socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
    const rest = head.subarray(end + 4);
    if (rest.length > 0) tunnel.stdin.write(rest);
    socket.pipe(tunnel.stdin);
    tunnel.stdout.pipe(socket);
    tunnel.onExit(() => socket.destroy());
    socket.on('close', () => tunnel.kill());
    socket.on('error', () => tunnel.kill());
  };
  socket.on('data', onData);
  socket.on('error', () => undefined);
}

/** Listens on `socketPath` ("\0name" for an abstract socket); resolves once listening. */
export function startEgressProxy(socketPath: string, dial: Dialer): Promise<Server> {
  const server = createServer((socket) => handle(socket, dial));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve(server));
  });
}

/**
 * The API server's egress selector: `cluster` traffic (to nodes, pods and Services of the guest)
 * through the proxy; the control plane and etcd are dialled directly. `udsName` may name an
 * abstract socket ("@name"), which every process of the box's network namespace can reach.
 */
export function renderEgressSelectorConfiguration(udsName: string): string {
  return stringify({
    apiVersion: 'apiserver.k8s.io/v1beta1',
    kind: 'EgressSelectorConfiguration',
    egressSelections: [{ name: 'cluster', connection: { proxyProtocol: 'HTTPConnect', transport: { uds: { udsName } } } }],
  });
}
