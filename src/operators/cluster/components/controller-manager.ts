// kube-controller-manager: its Deployment at the version the upgrade plan renders, which is never
// newer than the oldest API server.
import { renderControllerManagerDeployment } from '../controller-manager-deployment.ts';
import { ConditionType } from '../status.ts';
import { apiClientDeploymentComponent } from './deployment-status.ts';

export const controllerManager = apiClientDeploymentComponent('kube-controller-manager', ConditionType.ControllerManagerAvailable, renderControllerManagerDeployment);
