// Groups Tessera defines inside every guest, so an extra user's kubeconfig (signed with the
// user's groups) grants what the group name says: tessera:viewers read, tessera:editors edit
// namespaced objects, tessera:admins administer the cluster. Kubernetes' own aggregated roles
// (view, edit, cluster-admin) define what each means.
import { guestMetadata, type GuestObject } from './guest-object.ts';

export const userGroupRoles = { 'tessera:viewers': 'view', 'tessera:editors': 'edit', 'tessera:admins': 'cluster-admin' } as const;

export function renderUserGroupBindings(): GuestObject[] {
  return Object.entries(userGroupRoles).map(([group, role]) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: guestMetadata(`${group}`),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
  }));
}
