// metav1.LabelSelector over a Machine's labels: matchLabels and matchExpressions (In, NotIn,
// Exists, DoesNotExist), all of them must hold; no selector matches everything.
import type { LabelSelector } from '../../api/v1alpha1/package-rollout.ts';

export function matchesSelector(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, expression.key);
    const value = labels[expression.key];
    const values = expression.values ?? [];
    if (expression.operator === 'In' && !(has && values.includes(value ?? ''))) return false;
    if (expression.operator === 'NotIn' && has && values.includes(value ?? '')) return false;
    if (expression.operator === 'Exists' && !has) return false;
    if (expression.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}
