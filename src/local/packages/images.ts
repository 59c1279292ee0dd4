// The images a guest's system pods and demos run, built locally under the names the guest's
// manifests use (registry.k8s.io/...), so kubelets find them already imported and never pull.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { programWithLibraries, type ImageFile, type ImageSpec } from './oci-image.ts';
import { PAUSE_VERSION } from './node-builds.ts';

const run = promisify(execFile);

/** Upstream's distroless images run as this user (nonroot). */
const NONROOT = '65532';
const PASSWD = 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n';
const GROUP = 'root:x:0:\nnonroot:x:65532:\nnobody:x:65534:\n';
const BASE_FILES: ImageFile[] = [
  { path: 'etc/passwd', content: PASSWD },
  { path: 'etc/group', content: GROUP },
  { path: 'tmp', directory: true, mode: 0o1777 },
];

export const PAUSE_IMAGE = `registry.k8s.io/pause:${PAUSE_VERSION}`;
export const DEMO_IMAGE = 'tessera.dev/demo:1.0';

export function pauseImage(buildDir: string): ImageSpec {
  return {
    reference: PAUSE_IMAGE,
    files: [...BASE_FILES, { path: 'pause', copyFrom: join(buildDir, 'pause') }],
    config: { Entrypoint: ['/pause'], User: '65535:65535' },
  };
}

export function coreDnsImage(version: string, buildDir: string): ImageSpec {
  return {
    reference: `registry.k8s.io/coredns/coredns:v${version}`,
    files: [...BASE_FILES, { path: 'coredns', copyFrom: join(buildDir, 'coredns') }],
    config: { Entrypoint: ['/coredns'], User: `${NONROOT}:${NONROOT}`, ExposedPorts: { '53/tcp': {}, '53/udp': {} } },
  };
}

/**
 * kube-proxy with the iptables tools it runs (upstream bases its image on distroless-iptables):
 * Debian's xtables programs and their libraries, both backends, with the alternatives the box
 * chose.
 */
export async function kubeProxyImage(version: string, buildDir: string): Promise<ImageSpec> {
  const files: ImageFile[] = [...BASE_FILES, { path: 'run', directory: true }, { path: 'usr/local/bin/kube-proxy', copyFrom: join(buildDir, 'kube-proxy') }];
  for (const program of ['/usr/sbin/xtables-nft-multi', '/usr/sbin/xtables-legacy-multi', '/usr/sbin/conntrack']) files.push(...(await programWithLibraries(program)));
  const { stdout: plugins } = await run('find', ['/usr/lib/x86_64-linux-gnu/xtables', '-name', '*.so']);
  // The match and target plugins load libraries of their own (libxt_statistic needs libm).
  for (const plugin of plugins.split('\n').filter(Boolean)) files.push(...(await programWithLibraries(plugin)));
  for (const family of ['iptables', 'ip6tables']) {
    for (const suffix of ['', '-save', '-restore']) {
      files.push({ path: `usr/sbin/${family}-nft${suffix}`, symlinkTo: 'xtables-nft-multi' });
      files.push({ path: `usr/sbin/${family}-legacy${suffix}`, symlinkTo: 'xtables-legacy-multi' });
      files.push({ path: `usr/sbin/${family}${suffix}`, symlinkTo: `${family}-nft${suffix}` });
    }
  }
  const unique = [...new Map(files.map((file) => [file.path.replace(/^\//, ''), file])).values()];
  return { reference: `registry.k8s.io/kube-proxy:v${version}`, files: unique, config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] } };
}

/**
 * A small image to try things with: Debian's static busybox (a shell, wget, nslookup) and an HTTP
 * server on port 8080 that answers with the pod's name (its hostname).
 */
export async function demoImage(): Promise<ImageSpec> {
  const { stdout } = await run('/bin/busybox', ['--list']);
  const applets = stdout.split('\n').filter((name) => name !== '' && name !== 'busybox');
  const server = [
    '#!/bin/sh',
    '# Answers every request on :8080 with this pod\'s name.',
    'mkdir -p /tmp/www',
    'hostname > /tmp/www/index.html',
    'echo "demo: serving $(hostname) on :8080"',
    'exec httpd -f -v -p 8080 -h /tmp/www',
    '',
  ].join('\n');
  return {
    reference: DEMO_IMAGE,
    files: [
      ...BASE_FILES,
      { path: 'bin/busybox', copyFrom: '/bin/busybox' },
      ...applets.map((applet) => ({ path: `bin/${applet}`, symlinkTo: 'busybox' })),
      { path: 'usr/local/bin/demo-server', content: server, mode: 0o755 },
    ],
    config: { Cmd: ['/usr/local/bin/demo-server'], Env: ['PATH=/usr/local/bin:/bin'], ExposedPorts: { '8080/tcp': {} } },
  };
}
