// The one list of a guest's components, with the order among them as data: each names what it
// depends on, and the reconciler walks this graph (controller/task-graph.ts), running a
// component once everything it depends on is ready and independent ones side by side. Adding a
// component means adding a file under components/ and one entry here.
import type { ClusterComponent } from './component.ts';
import { addonComponent } from './components/addon.ts';
import { apiServer } from './components/apiserver.ts';
import { controllerManager } from './components/controller-manager.ts';
import { etcd } from './components/etcd.ts';
import { guestApi } from './components/guest-api.ts';
import { guestBootstrap } from './components/guest-bootstrap.ts';
import { network } from './components/network.ts';
import { pki } from './components/pki.ts';
import { scheduler } from './components/scheduler.ts';
import { services } from './components/services.ts';
import { ADDON_NAMES } from './guest/addons/addon-set.ts';

export const CLUSTER_COMPONENTS: readonly ClusterComponent[] = [
  network,
  services,
  pki,
  etcd,
  apiServer,
  guestApi,
  controllerManager,
  scheduler,
  guestBootstrap,
  ...ADDON_NAMES.map(addonComponent),
];
