import type { ImageRecord } from '@/lib/db/schema';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

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
  const caption = r.caption ?? r.analysis?.caption;
  const tags = r.tags.map((t) => `     <rdf:li>${esc(t.name)}</rdf:li>`).join('\n');
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
    `   <dc:subject>`,
    `    <rdf:Bag>`,
    ...(tags ? [tags] : []),
    `    </rdf:Bag>`,
    `   </dc:subject>`,
  ];
  if (caption) parts.push(`   <dc:description>`, `    <rdf:Alt>`, `     <rdf:li xml:lang="x-default">${esc(caption)}</rdf:li>`, `    </rdf:Alt>`, `   </dc:description>`);
  if (r.params?.prompt) parts.push(`   <atelier:Prompt>${esc(r.params.prompt)}</atelier:Prompt>`);
  parts.push(`  </rdf:Description>`, ` </rdf:RDF>`, `</x:xmpmeta>`, `<?xpacket end="w"?>`);
  return parts.join('\n') + '\n';
}
