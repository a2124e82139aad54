import { describe, expect, it } from 'vitest';
import type { AnalyzeResult } from '@/lib/api';
import { mergeAnalysis } from '@/lib/db/analysis';
import type { ImageRecord } from '@/lib/db/schema';
import { toAnalysisResult } from './atelier-analyzer';
import { parseAnalysisJson } from './chat-analyzer';

const empty: ImageRecord = { id: 'a', hash: 'h', name: 'a.png', mime: 'image/png', bytes: 1, width: 1, height: 1, addedAt: 1, origin: 'imported', rating: 0, flag: 'none', tags: [], thumbW: 1, thumbH: 1 };

describe('analyzers emit the one tag shape', () => {
  it("the backend's tags reach the record as sent, a null score included", () => {
    const item: AnalyzeResult = { index: 0, caption: 'a cat on a sofa', tags: [{ name: 'cat', score: 0.93 }, { name: 'sofa', score: null }], nsfw: { label: 'safe', score: 0.01 } };
    const result = toAnalysisResult(item, 'moondream-2');
    expect(result.tags).toStrictEqual(item.tags);
    expect(mergeAnalysis(empty, result, 5).tags).toStrictEqual(item.tags!.map((t) => ({ ...t, source: 'ai' })));
  });

  it("tags parsed from a chat model's text carry a null score", () => {
    const result = parseAnalysisJson('Sure! {"caption": "a dog", "tags": ["Dog", " grass ", "dog"], "nsfw": false}', 'llava');
    expect(result.tags).toStrictEqual([{ name: 'dog', score: null }, { name: 'grass', score: null }]);
  });
});
