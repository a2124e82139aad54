// The thresholds of the near-duplicate tiers, with what they rest on.

/**
 * Re-encoded copies: pHash Hamming distance at most this. On the generated set (near_dup_set.py)
 * copies sit 0-6 bits from their original (a 5% crop the farthest) and unrelated scenes 18 or
 * more apart; on photos (ML-NOTES) JPEG q70, a 25% resize and +15% brightness gave 0, a 10% crop 8,
 * and unrelated scenes 24-28.
 */
export const REENCODED_MAX_DISTANCE = 10;

/**
 * Bursts and edits: photos from the same camera taken this close together (an edit keeps the
 * original's capture time) whose image embeddings are at least BURST_MIN_COSINE alike. pHash alone
 * cannot tell a burst (a 6% camera shift measured 20 bits, unrelated scenes 24-28).
 */
export const BURST_WINDOW_MS = 60_000;
/**
 * A first setting, to check against SigLIP 2 on real bursts when the embeddings model lands
 * (issue 19, phase 2): immich flags duplicates at cosine distance 0.0155 (0.98 alike); a burst
 * differs more than a duplicate.
 */
export const BURST_MIN_COSINE = 0.92;

/** Generated images: the same prompt, negative prompt, model and size, seeds this close (a batch
 * is seed, seed + 1, ...). */
export const SEED_FAMILY = 16;

export type Tier = 'exact' | 'reencoded' | 'burst';

/** Looser tiers win when a stack mixes them: the stack is only as sure as its weakest link. */
export const TIER_RANK: Record<Tier, number> = { exact: 0, reencoded: 1, burst: 2 };

export const TIER_LABEL: Record<Tier, string> = { exact: 'identical copies', reencoded: 'same picture, re-encoded', burst: 'burst or series' };
