// kube-scheduler: a container of the control-plane pods, at the version the upgrade plan renders,
// which is never newer than the oldest API server.
import { ConditionType } from '../status.ts';
import { apiClientContainerComponent } from './control-plane-pods.ts';

export const scheduler = apiClientContainerComponent('kube-scheduler', ConditionType.SchedulerAvailable);
