// The node's kubelet API, the part the API server calls: `kubectl logs` reaches
// /containerLogs/<namespace>/<pod>/<container> here. Only the API server's kubelet-client
// certificate (signed by the cluster CA) is accepted.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';

export type KubeletServerOptions = {
  address: string;
  port: number;
  certPem: string;
  keyPem: string;
  clientCaPem: string;
  /** Pods on this node, by namespace/name, with the directory holding their containers. */
  findPod: (namespace: string, name: string) => { pod: V1Pod; directory: string } | undefined;
};

async function containerLogFiles(containerDirectory: string): Promise<string[]> {
  const entries = await readdir(containerDirectory).catch(() => [] as string[]);
  return entries
    .filter((entry) => /^\d+\.log$/.test(entry))
    .sort((a, b) => Number.parseInt(a) - Number.parseInt(b))
    .map((entry) => join(containerDirectory, entry));
}

function tail(text: string, lines: number): string {
  if (lines < 0) return text;
  const parts = text.split('\n');
  const trailing = parts[parts.length - 1] === '' ? parts.pop() : undefined;
  return parts.slice(Math.max(0, parts.length - lines)).join('\n') + (trailing === undefined ? '' : '\n');
}

async function serveLogs(options: KubeletServerOptions, request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
  const [, , namespace = '', podName = '', containerName] = url.pathname.split('/').map(decodeURIComponent);
  const found = options.findPod(namespace, podName);
  if (!found) {
    response.writeHead(404).end(`pod ${namespace}/${podName} is not on this node\n`);
    return;
  }
  const containers = [...(found.pod.spec?.initContainers ?? []), ...(found.pod.spec?.containers ?? [])].map((c) => c.name);
  const container = containerName || (containers.length === 1 ? containers[0] : undefined);
  if (!container || !containers.includes(container)) {
    response.writeHead(400).end(`a container name must be given for pod ${podName}, choose one of: [${containers.join(' ')}]\n`);
    return;
  }
  const files = await containerLogFiles(join(found.directory, 'containers', container));
  const previous = url.searchParams.get('previous') === 'true';
  const file = previous ? files[files.length - 2] : files[files.length - 1];
  if (!file) {
    response.writeHead(previous ? 400 : 404).end(previous ? `previous terminated container "${container}" in pod "${podName}" not found\n` : `container "${container}" in pod "${podName}" has not started\n`);
    return;
  }
  const tailLines = url.searchParams.has('tailLines') ? Number(url.searchParams.get('tailLines')) : -1;
  const limitBytes = url.searchParams.has('limitBytes') ? Number(url.searchParams.get('limitBytes')) : Infinity;
  response.writeHead(200, { 'content-type': 'text/plain' });
  const handle = await open(file, 'r');
  let position = 0;
  try {
    const content = (await handle.readFile()).toString('utf8');
    position = Buffer.byteLength(content);
    const text = tail(content, tailLines);
    response.write(Number.isFinite(limitBytes) ? Buffer.from(text).subarray(0, limitBytes) : text);
  } finally {
    await handle.close();
  }
  if (url.searchParams.get('follow') !== 'true') {
    response.end();
    return;
  }
  // Follow: stream what is appended until the client goes away.
  let closed = false;
  request.on('close', () => (closed = true));
  while (!closed) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const size = (await stat(file).catch(() => ({ size: position }))).size;
    if (size > position) {
      await new Promise<void>((resolve) => {
        const stream = createReadStream(file, { start: position, end: size - 1 });
        stream.on('end', resolve);
        stream.on('error', () => resolve());
        stream.pipe(response, { end: false });
      });
      position = size;
    }
  }
  response.end();
}

export async function startKubeletServer(options: KubeletServerOptions): Promise<Server> {
  const server = createServer({ cert: options.certPem, key: options.keyPem, ca: options.clientCaPem, requestCert: true, rejectUnauthorized: false }, (request, response) => {
    const socket = request.socket as TLSSocket;
    const url = new URL(request.url ?? '/', 'https://kubelet');
    if (url.pathname === '/healthz') {
      response.writeHead(200).end('ok');
      return;
    }
    if (!socket.authorized) {
      response.writeHead(401).end('Unauthorized: a client certificate signed by the cluster CA is required\n');
      return;
    }
    if (url.pathname.startsWith('/containerLogs/')) {
      serveLogs(options, request, response, url).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500);
        response.end(`${(error as Error).message}\n`);
      });
      return;
    }
    response.writeHead(501).end(`${url.pathname} is not implemented by the Tessera process runtime (logs are; exec, attach and port-forward are not)\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.address, resolve);
  });
  return server;
}
