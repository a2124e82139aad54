import { describe, expect, it } from 'vitest';
import { mergeAnalysis } from './analysis';
import { DEFAULT_NSFW_THRESHOLD, isNsfw, nsfwToggle } from './nsfw';
import type { ImageRecord } from './schema';

const rec = (extra: Partial<ImageRecord> = {}): ImageRecord => ({ id: 'a', hash: 'a', name: 'a.png', mime: 'image/png', bytes: 1, width: 1, height: 1, addedAt: 0, origin: 'imported', rating: 0, flag: 'none', tags: [], thumbW: 1, thumbH: 1, ...extra });
const analysed = (score: number, label: 'safe' | 'nsfw' = score >= 0.5 ? 'nsfw' : 'safe', extra: Partial<ImageRecord> = {}) => rec({ analysis: { caption: '', model: 'm', at: 1, nsfw: { label, score } }, ...extra });

describe('NSFW verdict', () => {
  it("applies the user's threshold to the detector's stored score (no re-analysis needed)", () => {
    expect(DEFAULT_NSFW_THRESHOLD).toBe(0.5);
    expect(isNsfw(analysed(0.62))).toBe(true);
    expect(isNsfw(analysed(0.62), 0.8)).toBe(false);
    expect(isNsfw(analysed(0.3), 0.25)).toBe(true);
    expect(isNsfw(rec())).toBe(false);
  });
  it('a per-image override wins over the detector, whatever the threshold', () => {
    expect(isNsfw(analysed(0.95, 'nsfw', { nsfwOverride: 'safe' }), 0.1)).toBe(false);
    expect(isNsfw(analysed(0.01, 'safe', { nsfwOverride: 'nsfw' }), 0.99)).toBe(true);
    expect(isNsfw(rec({ nsfwOverride: 'nsfw' }))).toBe(true);
  });
  it('the toggle flips what is shown, and returns to automatic when that is what the detector says', () => {
    const flagged = analysed(0.7);
    expect(nsfwToggle(flagged, 0.5)).toBe('safe');
    expect(nsfwToggle({ ...flagged, nsfwOverride: 'safe' }, 0.5)).toBeUndefined();
    expect(nsfwToggle(analysed(0.1), 0.5)).toBe('nsfw');
    expect(nsfwToggle({ ...analysed(0.1), nsfwOverride: 'nsfw' }, 0.5)).toBeUndefined();
  });
  it('the override is kept when the image is analysed again', () => {
    const marked = analysed(0.9, 'nsfw', { nsfwOverride: 'safe' });
    const again = mergeAnalysis(marked, { caption: 'a beach', tags: [], model: 'm2', nsfw: { label: 'nsfw', score: 0.97 } });
    expect(again.nsfwOverride).toBe('safe');
    expect(isNsfw(again)).toBe(false);
  });
});
