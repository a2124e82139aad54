import type { AnalysisResult, ImageRecord, Tag } from './schema';

/**
 * AI tags are replaced on re-analysis; user tags are kept and win over an AI tag of the same name;
 * an AI tag the user removed (`removedTags`) is not added again.
 */
export function mergeAnalysis(rec: ImageRecord, result: AnalysisResult, at = Date.now()): ImageRecord {
  const userTags = rec.tags.filter((t) => t.source === 'user');
  // user tags win over an AI tag of the same name, and a tag the user removed stays removed
  const taken = new Set([...userTags.map((t) => t.name.toLowerCase()), ...(rec.removedTags ?? [])]);
  const aiTags: Tag[] = [];
  for (const t of result.tags) {
    const name = t.name.trim();
    if (!name || taken.has(name.toLowerCase())) continue;
    taken.add(name.toLowerCase());
    aiTags.push(t.score === undefined ? { name, source: 'ai' } : { name, source: 'ai', score: t.score });
  }
  const analysis: ImageRecord['analysis'] = { caption: result.caption, model: result.model, at };
  if (result.nsfw) analysis.nsfw = result.nsfw;
  if (result.ms !== undefined) analysis.ms = result.ms;
  return { ...rec, tags: [...userTags, ...aiTags], analysis };
}
