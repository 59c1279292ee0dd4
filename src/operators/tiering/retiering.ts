// Whether a guest changes tier now. Smooth by construction: up only after the score stayed above
// the tier for `upAfter`, down only after it stayed below the next tier down (less a margin) for
// the much longer `downAfter`, one step at a time, at most `maxTransitionsPerHour`, and never into
// a tier the cell cannot hold. Pure: the timestamps it needs live in status.load.
import { parseDuration } from '../../api/v1alpha1/cluster.ts';
import type { TierPolicySpec } from '../../api/v1alpha1/tier-policy.ts';
import { recommendedTier } from './load-score.ts';

export type RetieringInput = {
  policy: TierPolicySpec;
  /** The tier the guest is on (status.tier), or undefined for a new guest. */
  current: string | undefined;
  /** spec.tier: the user's pin. */
  pinned: string | undefined;
  score: number;
  now: number;
  aboveSince?: number;
  belowSince?: number;
  /** Earlier tier changes (ms since epoch). */
  transitions: number[];
  /** Whether the cell can hold the guest at `tier` (its own current tier need not be asked). */
  fits: (tier: string) => boolean;
};

export type RetieringReason = 'Pinned' | 'Initial' | 'TierRemoved' | 'ScaledUp' | 'ScaledDown' | 'Steady' | 'WaitingUp' | 'WaitingDown' | 'TransitionLimit' | 'DoesNotFitCell';

export type RetieringDecision = {
  tier: string;
  recommended: string;
  changed: boolean;
  reason: RetieringReason;
  message: string;
  aboveSince?: number;
  belowSince?: number;
  transitions: number[];
};

const hour = 3_600_000;
const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;

export function decideTier(input: RetieringInput): RetieringDecision {
  const { policy, score, now } = input;
  const recommended = recommendedTier(score, policy);
  const transitions = input.transitions.filter((at) => now - at < hour);
  const names = policy.tiers.map((tier) => tier.name);
  const base = { recommended, transitions };
  if (input.pinned !== undefined) {
    return { ...base, tier: input.pinned, changed: input.current !== input.pinned, reason: 'Pinned', message: `spec.tier pins tier ${input.pinned}; the load (score ${score}) would recommend ${recommended}` };
  }
  if (input.current === undefined) {
    return { ...base, tier: policy.defaultTier, changed: true, reason: 'Initial', message: `new guest: default tier ${policy.defaultTier} until its load has been measured for a while` };
  }
  const index = names.indexOf(input.current);
  if (index < 0) {
    return { ...base, tier: recommended, changed: true, reason: 'TierRemoved', message: `tier ${input.current} is no longer in the TierPolicy: moved to ${recommended} (score ${score})` };
  }
  const tier = policy.tiers[index];
  const lower = index > 0 ? policy.tiers[index - 1] : undefined;
  const above = tier?.maxScore !== undefined && score > tier.maxScore;
  const downThreshold = lower?.maxScore !== undefined ? lower.maxScore * (1 - policy.retiering.downMarginPercent / 100) : undefined;
  const below = downThreshold !== undefined && score < downThreshold;
  const aboveSince = above ? (input.aboveSince ?? now) : undefined;
  const belowSince = below ? (input.belowSince ?? now) : undefined;
  const hold = (reason: RetieringReason, message: string): RetieringDecision => ({ ...base, tier: input.current ?? policy.defaultTier, changed: false, reason, message, aboveSince, belowSince });

  const window = above ? parseDuration(policy.retiering.upAfter) : parseDuration(policy.retiering.downAfter);
  const since = above ? aboveSince : belowSince;
  if (!above && !below) return hold('Steady', `score ${score} is within tier ${input.current}`);
  const target = names[above ? index + 1 : index - 1] ?? input.current;
  if (since === undefined || now - since < window) {
    const waited = since === undefined ? 0 : now - since;
    return hold(above ? 'WaitingUp' : 'WaitingDown', `score ${score} has been ${above ? 'above' : 'below'} tier ${input.current} for ${seconds(waited)} of the ${above ? policy.retiering.upAfter : policy.retiering.downAfter} needed to move to ${target}`);
  }
  if (transitions.length >= policy.retiering.maxTransitionsPerHour) {
    return hold('TransitionLimit', `score ${score} calls for tier ${target}, but ${transitions.length} tier changes in the last hour is the limit (spec.retiering.maxTransitionsPerHour)`);
  }
  if (!input.fits(target)) {
    return hold('DoesNotFitCell', `score ${score} calls for tier ${target}, but the cell cannot hold the guest at ${target} while keeping its headroom: staying on ${input.current}`);
  }
  return {
    ...base,
    tier: target,
    changed: true,
    reason: above ? 'ScaledUp' : 'ScaledDown',
    message: `score ${score} stayed ${above ? 'above' : 'below'} tier ${input.current} for ${seconds(now - since)}: moved one step to ${target}`,
    transitions: [...transitions, now],
  };
}
