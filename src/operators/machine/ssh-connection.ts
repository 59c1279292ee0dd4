// The Node operator's SSH client (ssh2): the host key is checked against spec.ssh.hostKey during
// the handshake (only that key type is offered, so a host with several keys presents the pinned
// one), keepalives detect silent hosts, every command runs under a remote `timeout`, and a
// bounded number of connections is open at once per operator.
import { Client, type ConnectConfig } from 'ssh2';
import { createReadStream } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { HostKeyMismatchError, HostUnreachableError, fingerprintOf, fingerprintOfBlob, publicKeyBlob, type CommandResult, type HostConnector, type HostSession, type SshTarget } from './host-access.ts';
import { shellQuote } from '../../node/host-install.ts';

/** A counting semaphore: at most `limit` holders. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(limit: number) {
    this.free = limit;
  }
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

/** The algorithms ssh2 should ask for so that the server presents a key of the pinned type. */
function hostKeyAlgorithms(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

export type SshConnectorOptions = {
  /** SSH connections open at once across all Machines; default 16. */
  maxConnections?: number;
  /** Channels (commands) at once per connection; default 2. */
  maxChannelsPerHost?: number;
  connectTimeoutMs?: number;
  /** How long a closed session's socket may wait for the host's goodbye before it is destroyed; default 5000. */
  closeGraceMs?: number;
};

export function sshConnector(options: SshConnectorOptions = {}): HostConnector {
  const connections = new Slots(options.maxConnections ?? 16);
  return async (target: SshTarget): Promise<HostSession> => {
    const release = await connections.take();
    const pinned = publicKeyBlob(target.hostKey);
    let presented: Buffer | undefined;
    const client = new Client();
    // ssh2 may report one failure twice (a refused handshake, then "Connection lost before
    // handshake" as the socket closes); an 'error' without a listener would end the operator.
    // The first one rejects the connect below; commands report theirs through their channels.
    client.on('error', () => undefined);
    // Our own socket, so that it can be destroyed after the client has ended (see close).
    const socket = connectTcp({ host: target.address, port: target.port });
    const config: ConnectConfig = {
      sock: socket,
      host: target.address,
      port: target.port,
      username: target.user,
      privateKey: target.privateKey,
      readyTimeout: options.connectTimeoutMs ?? 15_000,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: hostKeyAlgorithms(pinned.type) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
      hostVerifier: (key: Buffer) => {
        presented = key;
        return key.equals(pinned.blob);
      },
    };
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve());
        client.once('error', (error) => reject(error));
        client.connect(config);
      });
    } catch (error) {
      socket.destroy();
      release();
      if (presented && !presented.equals(pinned.blob)) throw new HostKeyMismatchError(fingerprintOf(target.hostKey), fingerprintOfBlob(presented));
      throw new HostUnreachableError(`ssh ${target.user}@${target.address}:${target.port}: ${(error as Error).message}`);
    }
    client.once('close', release);
    const channels = new Slots(options.maxChannelsPerHost ?? 2);
    const exec = async (command: string, stdin: { text: string } | { file: string }, timeoutSeconds: number): Promise<CommandResult> => {
      const done = await channels.take();
      try {
        return await new Promise<CommandResult>((resolve, reject) => {
          // The remote `timeout` ends the command on the host; the local timer gives up on a
          // host that stopped answering altogether.
          const timer = setTimeout(() => reject(new HostUnreachableError(`${target.address}: no answer within ${timeoutSeconds + 15} s`)), (timeoutSeconds + 15) * 1000);
          client.exec(`timeout ${timeoutSeconds} ${command}`, (error, stream) => {
            if (error) {
              clearTimeout(timer);
              reject(new HostUnreachableError(`${target.address}: ${error.message}`));
              return;
            }
            let stdout = '';
            let stderr = '';
            stream.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
            stream.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
            stream.on('close', (code: number | null) => {
              clearTimeout(timer);
              resolve({ code: code ?? 255, stdout, stderr });
            });
            if ('text' in stdin) stream.end(stdin.text);
            else createReadStream(stdin.file).on('error', (readError) => { stderr += readError.message; stream.close(); }).pipe(stream);
          });
        });
      } finally {
        done();
      }
    };
    return {
      run: (script, timeoutSeconds) => exec('sh -s', { text: script }, timeoutSeconds),
      upload: async (localPath, remotePath, timeoutSeconds) => {
        const partial = `${remotePath}.partial`;
        const directory = remotePath.slice(0, remotePath.lastIndexOf('/')) || '/';
        const result = await exec(`sh -c ${shellQuote(`mkdir -p ${shellQuote(directory)} && cat > ${shellQuote(partial)} && mv ${shellQuote(partial)} ${shellQuote(remotePath)}`)}`, { file: localPath }, timeoutSeconds);
        if (result.code !== 0) throw new Error(`upload of ${remotePath} failed (exit ${result.code}): ${result.stderr.trim()}`);
      },
      // A host that vanished without a word (powered off, cable pulled) never answers the
      // goodbye, and ssh2 stops its keepalives once the client ends: the socket would stay half
      // open and keep its connection slot for good, until every pass of every Machine waited
      // for one. The slot is freed now; the socket goes if the host has not closed it in time.
      close: () => {
        client.end();
        release();
        setTimeout(() => socket.destroy(), options.closeGraceMs ?? 5_000).unref();
      },
    };
  };
}
