// The thresholds of the near-duplicate tiers, with what they rest on.

/**
 * Re-encoded copies: pHash Hamming distance at most this. On the generated set (near_dup_set.py)
 * copies sit 0-6 bits from their original (a 5% crop the farthest) and unrelated scenes 18 or
 * more apart; on photos (ML-NOTES) JPEG q70, a 25% resize and +15% brightness gave 0, a 10% crop 8,
 * and unrelated scenes 24-28.
 */
export const REENCODED_MAX_DISTANCE = 10;
