import type { Flag, ImageRecord, Rating } from '@/lib/db/schema';

/**
 * Characters XML 1.0 forbids (C0 controls but tab, LF and CR; lone surrogates; U+FFFE/U+FFFF): a
 * caption with one of them makes the sidecar not well-formed, and Adobe's XMP Toolkit (expat),
 * exiftool and digiKam refuse the whole file. They carry no meaning in text, so they are dropped.
 */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export const xmlText = (s: string) => s.replace(NOT_XML, '');

const esc = (s: string) => xmlText(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * An XMP sidecar digiKam and Lightroom read: dc:subject keywords, xmp:Rating (Lightroom's
 * convention: -1 marks a rejected image), dc:description for the caption.
 */
export function buildXmp(r: ImageRecord): string {
  const rating = r.flag === 'reject' ? -1 : r.rating;
  const attrs = [
    `xmp:Rating="${rating}"`,
    `xmp:CreatorTool="Atelier"`,
    r.takenAt !== undefined ? `xmp:CreateDate="${new Date(r.takenAt).toISOString()}"` : '',
    `xmp:MetadataDate="${new Date().toISOString()}"`,
    r.flag === 'pick' ? `atelier:Flag="pick"` : r.flag === 'reject' ? `atelier:Flag="reject"` : '',
    r.origin === 'generated' ? `atelier:Origin="generated"` : '',
  ].filter(Boolean);
  const caption = xmlText(r.caption ?? r.analysis?.caption ?? '').trim();
  const tags = r.tags.map((t) => esc(t.name).trim()).filter(Boolean);
  const parts = [
    `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>`,
    `<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Atelier">`,
    ` <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">`,
    `  <rdf:Description rdf:about=""`,
    `    xmlns:xmp="http://ns.adobe.com/xap/1.0/"`,
    `    xmlns:dc="http://purl.org/dc/elements/1.1/"`,
    `    xmlns:atelier="https://github.com/atelier/ns/1.0/"`,
    ...attrs.map((a) => `    ${a}`),
    `   >`,
  ];
  // No keywords, no dc:subject: exiftool reads an empty bag as one blank keyword.
  if (tags.length) parts.push(`   <dc:subject>`, `    <rdf:Bag>`, ...tags.map((t) => `     <rdf:li>${t}</rdf:li>`), `    </rdf:Bag>`, `   </dc:subject>`);
  if (caption) parts.push(`   <dc:description>`, `    <rdf:Alt>`, `     <rdf:li xml:lang="x-default">${esc(caption)}</rdf:li>`, `    </rdf:Alt>`, `   </dc:description>`);
  if (r.params?.prompt) parts.push(`   <atelier:Prompt>${esc(r.params.prompt)}</atelier:Prompt>`);
  parts.push(`  </rdf:Description>`, ` </rdf:RDF>`, `</x:xmpmeta>`, `<?xpacket end="w"?>`);
  return parts.join('\n') + '\n';
}

export interface XmpSidecar {
  /** dc:subject keywords */
  tags: string[];
  /** xmp:Rating clamped to 0-5 (undefined when absent; -1 gives 0 with flag 'reject') */
  rating?: Rating;
  flag?: Flag;
}

const unesc = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');

/** A property in attribute form (`xmp:Rating="3"`) or element form (`<xmp:Rating>3</xmp:Rating>`). */
function prop(xml: string, qname: string): string | undefined {
  const q = qname.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const attr = new RegExp(`[\\s"']${q}\\s*=\\s*(["'])([^"']*)\\1`).exec(xml);
  if (attr) return unesc(attr[2]!).trim();
  const el = new RegExp(`<${q}(?:\\s[^>]*)?>([^<]*)</${q}>`).exec(xml);
  return el ? unesc(el[1]!).trim() : undefined;
}

/**
 * Reads back what buildXmp writes, and the same fields from digiKam / Lightroom / darktable
 * sidecars: dc:subject keywords, xmp:Rating (-1 = rejected) and atelier:Flag. A string parser,
 * not DOMParser (absent in workers and in Node); anything it cannot read is left out.
 */
export function parseXmp(xml: string): XmpSidecar {
  const out: XmpSidecar = { tags: [] };
  const subject = /<dc:subject(?:\s[^>]*)?>([\s\S]*?)<\/dc:subject>/.exec(xml);
  if (subject) {
    for (const li of subject[1]!.matchAll(/<rdf:li(?:\s[^>]*)?>([\s\S]*?)<\/rdf:li>/g)) {
      const name = unesc(li[1]!).trim();
      if (name && !out.tags.includes(name)) out.tags.push(name);
    }
  }
  const rating = Number(prop(xml, 'xmp:Rating') ?? prop(xml, 'xap:Rating') ?? NaN);
  if (Number.isFinite(rating)) {
    if (rating < 0) out.flag = 'reject';
    out.rating = Math.max(0, Math.min(5, Math.round(rating))) as Rating;
  }
  const flag = prop(xml, 'atelier:Flag');
  if (flag === 'pick' || flag === 'reject' || flag === 'none') out.flag = flag;
  return out;
}
