// Entry point of the fabric's egress proxy process: `node egress-proxy-main.ts SOCKET NETNS_PATH`.
// Started detached by src/local/fabric/guest-link.ts; ends on SIGTERM.
import { namespaceDialer, startEgressProxy } from './egress-proxy.ts';

const [socket, namespace] = process.argv.slice(2);
if (!socket || !namespace) {
  process.stderr.write('usage: egress-proxy-main.ts SOCKET NETNS_PATH\n');
  process.exit(2);
}
const name = socket.startsWith('@') ? `\0${socket.slice(1)}` : socket;
const server = await startEgressProxy(name, namespaceDialer(namespace));
process.stdout.write(`egress proxy on ${socket}, dialling in ${namespace}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
