// Everything Tessera keeps inside one guest, once its API answers: the join machinery (bootstrap
// RBAC, cluster-info, the current bootstrap token) and the enabled addons.
import { renderUserGroupBindings } from './user-groups.ts';
import { renderAddons } from './addons/addon-set.ts';
import { renderBootstrapRbac } from './bootstrap-rbac.ts';
import { renderBootstrapTokenSecret, type BootstrapToken } from './bootstrap-token.ts';
import { renderClusterInfo } from './cluster-info.ts';
import type { GuestClusterSpec, GuestEndpoint } from './guest-cluster-spec.ts';
import type { GuestObject } from './guest-object.ts';

export function renderGuestObjects(spec: GuestClusterSpec, endpoint: GuestEndpoint, token: BootstrapToken): GuestObject[] {
  return [...renderBootstrapRbac(), ...renderUserGroupBindings(), renderClusterInfo(endpoint), renderBootstrapTokenSecret(token), ...renderAddons(spec, endpoint)];
}
