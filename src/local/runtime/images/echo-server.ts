// The demo image `tessera.dev/echo-server`: an HTTP server on port 8080 of the pod's own address
// that answers every request with the pod's name. Like any process in a pod, it learns its
// address by resolving its hostname (the runtime writes the pod's /etc/hosts).
import { createServer } from 'node:http';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';

const podName = process.env['POD_NAME'] ?? hostname();
const port = Number(process.env['PORT'] ?? 8080);
// POD_IP (from the downward API) wins; otherwise the hostname's address from /etc/hosts.
const address = process.env['POD_IP'] ?? (await lookup(hostname(), { family: 4 })).address;

const server = createServer((request, response) => {
  process.stdout.write(`${new Date().toISOString()} ${request.method} ${request.url} from ${request.socket.remoteAddress}\n`);
  response.writeHead(200, { 'content-type': 'text/plain' });
  response.end(`${podName}\n`);
});
// LISTEN_AFTER_MS: start listening only after this long, like a server with a slow start.
const listenAfterMs = Number(process.env['LISTEN_AFTER_MS'] ?? 0);
setTimeout(() => server.listen(port, address, () => process.stdout.write(`${new Date().toISOString()} echo-server ${podName} listening on ${address}:${port}\n`)), listenAfterMs);
process.on('SIGTERM', () => {
  process.stdout.write('echo-server shutting down\n');
  server.close(() => process.exit(0));
});
