import type { ImportItem } from './import-pipeline';

// Turning picker selections, drops and pastes into import items. Folders are walked
// recursively (drag-and-drop gives FileSystemEntry trees; the folder picker gives flat files
// with webkitRelativePath).

export function itemsFromFiles(files: FileList | readonly File[]): ImportItem[] {
  return Array.from(files, (file) => {
    const rel = (file as File & { webkitRelativePath?: string }).webkitRelativePath;
    return rel ? { file, name: file.name, path: rel.slice(0, rel.lastIndexOf('/')) } : { file, name: file.name };
  });
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  // readEntries returns at most ~100 entries per call: keep reading until it returns none
  return new Promise((resolve, reject) => {
    const out: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (!batch.length) resolve(out);
        else {
          out.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, dir: string, out: ImportItem[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    out.push(dir ? { file, name: file.name, path: dir } : { file, name: file.name });
  } else if (entry.isDirectory) {
    const children = await readAll((entry as FileSystemDirectoryEntry).createReader());
    const sub = dir ? `${dir}/${entry.name}` : entry.name;
    for (const c of children) await walk(c, sub, out);
  }
}

export async function itemsFromDataTransfer(dt: DataTransfer): Promise<ImportItem[]> {
  const entries = Array.from(dt.items ?? [])
    .filter((i) => i.kind === 'file')
    .map((i) => i.webkitGetAsEntry?.() ?? null);
  if (!entries.length || entries.some((e) => e === null)) return itemsFromFiles(dt.files);
  const out: ImportItem[] = [];
  for (const e of entries) await walk(e!, '', out);
  return out;
}
