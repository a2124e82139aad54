import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    const tags = [{ name: 'sea & sky', score: null, source: 'user' as const }, { name: '<odd> "quoted"', score: null, source: 'ai' as const }, { name: 'boat', score: null, source: 'user' as const }];
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

describe('buildXmp writes files other tools read', () => {
  // A caption as vision models return it: a bell, a NUL and a lone surrogate among the words.
  const dirty = rec({
    rating: 3,
    caption: 'a harbour\u0007 at dusk\u0000, boats \uD800 moored',
    tags: [{ name: 'sea\u001b', score: null, source: 'ai' }, { name: '\u0001', score: null, source: 'ai' }],
    params: { prompt: 'harbour\u000b, dusk', source: 'atelier' },
  });

  it('is well-formed for expat (what Adobe XMP Toolkit parses with), control characters dropped', () => {
    const xml = buildXmp(dirty);
    expect(() => expatParse(xml)).not.toThrow();
    expect(xml).toContain('a harbour at dusk, boats  moored');
    expect(parseXmp(xml).tags).toEqual(['sea']);
  });

  it('writes no empty dc:subject bag for an image without tags', () => {
    const xml = buildXmp(rec({ rating: 1 }));
    expect(xml).not.toContain('dc:subject');
    expect(() => expatParse(xml)).not.toThrow();
  });

  it('passes exiftool -validate without a warning', () => {
    const warnings = exiftoolWarnings(buildXmp(dirty), 'xmp');
    if (warnings === undefined) return; // exiftool missing and not required here (make test requires it)
    expect(warnings).toEqual([]);
    expect(exiftoolWarnings(buildXmp(rec({ rating: 0 })), 'xmp')).toEqual([]);
  });
});

/** Parses with Python's expat, the parser Adobe's XMP Toolkit is built on; throws if not well-formed. */
function expatParse(xml: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'xmp-'));
  const file = join(dir, 'a.xmp');
  writeFileSync(file, xml, 'utf8');
  execFileSync('python3', ['-c', 'import sys, xml.parsers.expat as e; e.ParserCreate().Parse(open(sys.argv[1], "rb").read(), True)', file], { stdio: 'pipe' });
}

function exiftoolWarnings(content: string, ext: string): string[] | undefined {
  const found = spawnSync('exiftool', ['-ver'], { stdio: 'pipe' });
  if (found.error) {
    if (process.env.REQUIRE_EXIFTOOL) throw new Error('exiftool is not installed: apt-get install libimage-exiftool-perl (make test does)');
    return undefined;
  }
  const file = join(mkdtempSync(join(tmpdir(), 'xmp-')), `a.${ext}`);
  writeFileSync(file, content, 'utf8');
  const out = execFileSync('exiftool', ['-validate', '-warning', '-a', '-s', file], { encoding: 'utf8' });
  expect(out).toContain('Validate');
  return out.split('\n').filter((l) => l.startsWith('Warning'));
}
