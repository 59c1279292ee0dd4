// For tests of timeouts: servers on 127.0.0.1 that accept connections (and then misbehave as the
// test makes them), each connection kept so that close() ends everything at once.
import type { Server, Socket } from 'node:net';

export class LoopbackServers {
  private readonly sockets = new Set<Socket>();
  private readonly servers: Server[] = [];

  /** Listens on a free port of 127.0.0.1 and returns the port. */
  async listen(server: Server): Promise<number> {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
    });
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the loopback server has no port');
    return address.port;
  }

  close(): void {
    for (const socket of this.sockets) socket.destroy();
    for (const server of this.servers) server.close();
  }
}
