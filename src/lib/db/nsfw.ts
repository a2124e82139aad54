// Whether an image counts as NSFW (blurred in the grid, matched by the Content filter).
// The detector's score is stored with each analysis, and the user's threshold (Settings) is
// applied to it here, so moving the threshold needs no re-analysis and works the same for
// every backend. A per-image override (the N key, the info panel) wins over the detector and is
// an edit of the record, so a re-analysis keeps it.
import type { ImageRecord } from './schema';

/** The backend's own cut-off (NudeNet's strongest explicit detection >= 0.5). */
export const DEFAULT_NSFW_THRESHOLD = 0.5;

export type NsfwMark = 'safe' | 'nsfw';

/** What the detector says at this threshold, ignoring the user's override. */
export function detectedNsfw(r: ImageRecord, threshold = DEFAULT_NSFW_THRESHOLD): boolean {
  const n = r.analysis?.nsfw;
  if (!n) return false;
  return typeof n.score === 'number' ? n.score >= threshold : n.label === 'nsfw';
}

export function isNsfw(r: ImageRecord, threshold = DEFAULT_NSFW_THRESHOLD): boolean {
  if (r.nsfwOverride) return r.nsfwOverride === 'nsfw';
  return detectedNsfw(r, threshold);
}

/**
 * The override that flips what the image shows now; undefined (back to automatic) when the
 * flipped state is what the detector says anyway.
 */
export function nsfwToggle(r: ImageRecord, threshold = DEFAULT_NSFW_THRESHOLD): NsfwMark | undefined {
  const want: NsfwMark = isNsfw(r, threshold) ? 'safe' : 'nsfw';
  return (want === 'nsfw') === detectedNsfw(r, threshold) ? undefined : want;
}
