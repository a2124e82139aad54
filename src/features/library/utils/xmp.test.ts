import { describe, expect, it } from 'vitest';
import { makeRecord } from '@/lib/db/make-record';
import type { ImageRecord } from '@/lib/db/schema';
import { buildXmp, parseXmp } from './xmp';

const rec = (over: Partial<ImageRecord>): ImageRecord => ({
  ...makeRecord({ hash: 'h', mime: 'image/png', width: 1, height: 1, thumb: new Blob(), thumbW: 1, thumbH: 1 }, { name: 'a.png', bytes: 1, origin: 'imported' }),
  ...over,
});

describe('parseXmp', () => {
  it('reads back what buildXmp writes', () => {
    const tags = [{ name: 'sea & sky', source: 'user' as const }, { name: '<odd> "quoted"', source: 'ai' as const }, { name: 'boat', source: 'user' as const }];
    expect(parseXmp(buildXmp(rec({ rating: 4, tags, caption: 'a caption', params: { prompt: 'p', source: 'atelier' } })))).toEqual({ tags: ['sea & sky', '<odd> "quoted"', 'boat'], rating: 4 });
    expect(parseXmp(buildXmp(rec({ rating: 2, flag: 'pick' })))).toEqual({ tags: [], rating: 2, flag: 'pick' });
    expect(parseXmp(buildXmp(rec({ rating: 3, flag: 'reject' })))).toEqual({ tags: [], rating: 0, flag: 'reject' });
  });

  it('reads the element form and -1 as reject (Lightroom / digiKam style)', () => {
    const xml = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
      <rdf:Description rdf:about="">
        <xmp:Rating>-1</xmp:Rating>
        <dc:subject><rdf:Bag><rdf:li>cat</rdf:li><rdf:li xml:lang="en"> dog </rdf:li><rdf:li>cat</rdf:li></rdf:Bag></dc:subject>
        <dc:description><rdf:Alt><rdf:li xml:lang="x-default">not a tag</rdf:li></rdf:Alt></dc:description>
      </rdf:Description></rdf:RDF></x:xmpmeta>`;
    expect(parseXmp(xml)).toEqual({ tags: ['cat', 'dog'], rating: 0, flag: 'reject' });
    expect(parseXmp(`<rdf:Description xmp:Rating='7'/>`)).toEqual({ tags: [], rating: 5 });
    expect(parseXmp('not xml at all')).toEqual({ tags: [] });
  });
});
