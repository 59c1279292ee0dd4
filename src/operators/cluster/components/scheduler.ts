// kube-scheduler: its Deployment at the version the upgrade plan renders, which is never newer
// than the oldest API server.
import { renderSchedulerDeployment } from '../scheduler-deployment.ts';
import { ConditionType } from '../status.ts';
import { apiClientDeploymentComponent } from './deployment-status.ts';

export const scheduler = apiClientDeploymentComponent('kube-scheduler', ConditionType.SchedulerAvailable, renderSchedulerDeployment);
