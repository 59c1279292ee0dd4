// Readiness, liveness and startup probes, as the kubelet runs them: HTTP GET (2xx/3xx is
// success), TCP connect, and exec inside the container's namespaces and root.
import type { V1Probe, V1Container, V1LifecycleHandler } from '@kubernetes/client-node';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { execFile } from 'node:child_process';

export type ProbeResult = { success: boolean; message: string };

export function resolvePort(port: number | string | undefined, container: V1Container): number {
  if (typeof port === 'number') return port;
  if (port !== undefined && /^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`probe port "${port}" is not a container port of "${container.name}"`);
  return named.containerPort;
}

export async function runProbe(probe: V1Probe, container: V1Container, podIP: string, execPid: () => Promise<number | undefined>): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const get = probe.httpGet;
    const port = resolvePort(get.port, container);
    const send = get.scheme === 'HTTPS' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { 'user-agent': 'kube-probe/tessera' };
    for (const header of get.httpHeaders ?? []) headers[header.name] = header.value;
    return new Promise((resolve) => {
      const req = send({ host: get.host || podIP, port, path: get.path ?? '/', method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false }, (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        resolve({ success: status >= 200 && status < 400, message: `HTTP probe returned ${status}` });
      });
      req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs}ms`)));
      req.on('error', (error) => resolve({ success: false, message: `HTTP probe failed: ${error.message}` }));
      req.end();
    });
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, container);
    return new Promise((resolve) => {
      const socket = connect({ host: probe.tcpSocket?.host || podIP, port, timeout: timeoutMs });
      socket.once('connect', () => {
        socket.destroy();
        resolve({ success: true, message: 'connected' });
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve({ success: false, message: `TCP probe timed out after ${timeoutMs}ms` });
      });
      socket.once('error', (error) => resolve({ success: false, message: `TCP probe failed: ${error.message}` }));
    });
  }
  if (probe.exec) {
    const command = probe.exec.command ?? [];
    const pid = await execPid();
    if (!pid) return { success: false, message: 'container is not running' };
    return new Promise((resolve) => {
      execFile('nsenter', ['--target', String(pid), '--mount', '--uts', '--root', '--wd', '--', ...command], { timeout: timeoutMs }, (error, stdout, stderr) => {
        resolve(error ? { success: false, message: `exec probe failed: ${(stderr || stdout || error.message).trim().slice(0, 200)}` } : { success: true, message: 'exit 0' });
      });
    });
  }
  if (probe.grpc) return { success: false, message: 'gRPC probes are not supported by the process runtime' };
  return { success: true, message: 'no handler' };
}

/** A lifecycle hook (preStop, postStart): sleep, exec or HTTP GET, bounded by `limitMs`. */
export async function runLifecycleHook(hook: V1LifecycleHandler, container: V1Container, podIP: string, execPid: () => Promise<number | undefined>, limitMs: number): Promise<ProbeResult> {
  if (hook.sleep) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(hook.sleep?.seconds ?? 0, limitMs / 1000) * 1000));
    return { success: true, message: 'slept' };
  }
  const timeoutSeconds = Math.max(1, Math.floor(limitMs / 1000));
  return runProbe({ exec: hook.exec, httpGet: hook.httpGet, tcpSocket: hook.tcpSocket, timeoutSeconds }, container, podIP, execPid);
}
