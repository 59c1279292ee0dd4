// Talks to a guest's etcd through its JSON gateway (the HTTP face of etcd's gRPC API) with the
// operator's client certificate: member list, add and remove, and per-member health.
import { request, type RequestOptions } from 'node:https';
import { checkServerIdentity, createSecureContext, type PeerCertificate, type SecureContext } from 'node:tls';
import { NoAnswerError, quietAfterNoAnswer, setRequestDeadline } from '../../controller/rest-client.ts';

export type EtcdMember = { id: string; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean };

export type EtcdTls = { caPem: string; certPem: string; keyPem: string };

export class EtcdClusterClient {
  private readonly endpoint: URL;
  private readonly tls: EtcdTls;
  private readonly servername: string | undefined;

  private readonly timeoutMs: { request: number; health: number; list: number };
  /** The member list, which after a list that got no answer fails at once for a while. */
  private readonly listQuietly: () => Promise<EtcdMember[]>;
  /** Made on first use and kept: parsing the key and CA on every call cost more than the call. */
  private secureContext: SecureContext | undefined;

  /**
   * `endpoint` may be an IP (e.g. a Service ClusterIP); `servername` is the name its certificate
   * carries. Each call ends within `timeoutMs` (default 5 s; health checks 3 s; the member list
   * `listTimeoutMs`, default as other calls) in all. After a member list that got no answer,
   * member lists fail at once with that error for `quietAfterNoAnswerMs` (default 0: never).
   */
  constructor(endpoint: string, tls: EtcdTls, servername?: string, options: { timeoutMs?: number; healthTimeoutMs?: number; listTimeoutMs?: number; quietAfterNoAnswerMs?: number } = {}) {
    this.endpoint = new URL(endpoint);
    this.tls = tls;
    this.servername = servername;
    const request = options.timeoutMs ?? 5000;
    this.timeoutMs = { request, health: options.healthTimeoutMs ?? 3000, list: options.listTimeoutMs ?? request };
    // A member that accepted and did not answer is not asked again for a while: each ask would
    // hold one of the operator's workers for the whole deadline.
    this.listQuietly = quietAfterNoAnswer(() => this.readMembers(), options.quietAfterNoAnswerMs ?? 0);
  }

  private call<T>(method: 'GET' | 'POST', path: string, body?: object, timeoutMs = this.timeoutMs.request): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.endpoint),
        {
          method,
          // https hands secureContext to tls.connect; its RequestOptions type leaves it out.
          ...({ secureContext: (this.secureContext ??= createSecureContext({ ca: this.tls.caPem, cert: this.tls.certPem, key: this.tls.keyPem })) } as RequestOptions),
          // Dialled by IP (a Service ClusterIP): check the certificate against the Service's name.
          ...(this.servername ? { servername: this.servername, checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(this.servername ?? '', cert) } : {}),
          agent: false,
          headers: payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {},
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((response.statusCode ?? 0) >= 400) return reject(new Error(`etcd ${path}: ${response.statusCode} ${text.slice(0, 300)}`));
            try {
              resolve((text ? JSON.parse(text) : {}) as T);
            } catch (error) {
              reject(new Error(`etcd ${path}: the answer is not JSON (${error instanceof Error ? error.message : String(error)}): ${text.slice(0, 300)}`));
            }
          });
        },
      );
      setRequestDeadline(req, timeoutMs, () => new NoAnswerError(`etcd ${path}: no answer within ${timeoutMs}ms`));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  listMembers(): Promise<EtcdMember[]> {
    return this.listQuietly();
  }

  private async readMembers(): Promise<EtcdMember[]> {
    type Raw = { members?: { ID?: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }[] };
    const response = await this.call<Raw>('POST', '/v3/cluster/member/list', { linearizable: true }, this.timeoutMs.list);
    return (response.members ?? []).map((m) => ({ id: String(m.ID ?? ''), name: m.name ?? '', peerURLs: m.peerURLs ?? [], clientURLs: m.clientURLs ?? [], isLearner: m.isLearner ?? false }));
  }

  async addMember(peerURL: string): Promise<EtcdMember> {
    const response = await this.call<{ member?: { ID?: string; peerURLs?: string[] } }>('POST', '/v3/cluster/member/add', { peerURLs: [peerURL], isLearner: false });
    return { id: String(response.member?.ID ?? ''), name: '', peerURLs: response.member?.peerURLs ?? [peerURL], clientURLs: [], isLearner: false };
  }

  async removeMember(id: string): Promise<void> {
    await this.call('POST', '/v3/cluster/member/remove', { ID: id });
  }

  /** etcd's own health endpoint: true when the member it reaches has a leader and serves. */
  async healthy(): Promise<boolean> {
    try {
      const response = await this.call<{ health?: string }>('GET', '/health', undefined, this.timeoutMs.health);
      return response.health === 'true';
    } catch {
      return false;
    }
  }

  async put(key: string, value: string): Promise<void> {
    await this.call('POST', '/v3/kv/put', { key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') });
  }

  async get(key: string): Promise<string | undefined> {
    const response = await this.call<{ kvs?: { value?: string }[] }>('POST', '/v3/kv/range', { key: Buffer.from(key).toString('base64') });
    const value = response.kvs?.[0]?.value;
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  }
}
