import type { AnalysisResult, ImageRecord, Tag } from './schema';

/**
 * AI tags are replaced on re-analysis; user tags are kept and win over an AI tag of the same name;
 * an AI tag the user removed (`removedTags`) is not added again. `key` (the queue's idempotency
 * key) is kept inside the analysis field, so it carries the analysis' stamp and travels with it
 * through sync: a replay can be told apart on any device.
 */
export function mergeAnalysis(rec: ImageRecord, result: AnalysisResult, at = Date.now(), key?: string): ImageRecord {
  const userTags = rec.tags.filter((t) => t.source === 'user');
  // user tags win over an AI tag of the same name, and a tag the user removed stays removed
  const taken = new Set([...userTags.map((t) => t.name.toLowerCase()), ...(rec.removedTags ?? [])]);
  const aiTags: Tag[] = [];
  for (const t of result.tags) {
    const key = t.name.trim().toLowerCase();
    if (!key || taken.has(key)) continue;
    taken.add(key);
    aiTags.push({ ...t, source: 'ai' }); // the wire's tag as it came, plus who added it
  }
  const analysis: ImageRecord['analysis'] = { caption: result.caption, model: result.model, at };
  if (result.nsfw) analysis.nsfw = result.nsfw;
  if (result.ms !== undefined) analysis.ms = result.ms;
  if (key !== undefined) analysis.key = key;
  return { ...rec, tags: [...userTags, ...aiTags], analysis };
}

/** Whether this result (by its idempotency key) is the one the record already shows. */
export function alreadyApplied(rec: ImageRecord, key: string | undefined): boolean {
  return key !== undefined && rec.analysis?.key === key;
}
