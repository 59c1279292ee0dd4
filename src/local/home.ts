// Where the local meta cluster keeps its state. Everything lives under one directory so that
// `tessera down` and `tessera up` can find a cluster again, even after a crash.
import { homedir } from 'node:os';
import { join } from 'node:path';

export type TesseraHome = {
  root: string;
  config: string;
  kubeconfig: string;
  pki: string;
  etcdData: string;
  logs: string;
  run: string;
  pods: string;
  volumes: string;
  supervisorPid: string;
};

export function resolveHome(env: NodeJS.ProcessEnv = process.env): TesseraHome {
  const root = env['TESSERA_HOME'] ?? join(homedir(), '.tessera');
  return {
    root,
    config: join(root, 'config.json'),
    kubeconfig: join(root, 'kubeconfig'),
    pki: join(root, 'pki'),
    etcdData: join(root, 'etcd'),
    logs: join(root, 'logs'),
    run: join(root, 'run'),
    pods: join(root, 'pods'),
    volumes: join(root, 'volumes'),
    supervisorPid: join(root, 'run', 'supervisor.json'),
  };
}
