import { describe, expect, it } from 'vitest';
import { resolveKey, SHORTCUTS } from './keymap';

const grid = { view: 'grid' as const, typing: false };
describe('keyboard culling map', () => {
  it('maps 1-5 and 0 to ratings, P/X/U to flags', () => {
    expect(resolveKey({ key: '3' }, grid)).toEqual({ type: 'rate', rating: 3 });
    expect(resolveKey({ key: '0' }, grid)).toEqual({ type: 'rate', rating: 0 });
    expect(resolveKey({ key: 'p' }, grid)).toEqual({ type: 'flag', flag: 'pick' });
    expect(resolveKey({ key: 'X' }, grid)).toEqual({ type: 'flag', flag: 'reject' });
    expect(resolveKey({ key: 'u' }, grid)).toEqual({ type: 'flag', flag: 'none' });
  });
  it('switches views with G, Enter and Esc, and shows help with ?', () => {
    expect(resolveKey({ key: 'g' }, { view: 'loupe', typing: false })).toEqual({ type: 'grid' });
    expect(resolveKey({ key: 'Enter' }, grid)).toEqual({ type: 'loupe' });
    expect(resolveKey({ key: 'Escape' }, grid)).toEqual({ type: 'back' });
    expect(resolveKey({ key: '?', shiftKey: true }, grid)).toEqual({ type: 'help' });
  });
  it('is silent while typing, and leaves browser shortcuts alone', () => {
    expect(resolveKey({ key: '5' }, { view: 'grid', typing: true })).toBeNull();
    expect(resolveKey({ key: 'p', ctrlKey: true }, grid)).toBeNull();
    expect(resolveKey({ key: 'a', metaKey: true }, grid)).toEqual({ type: 'selectAll' });
  });
  it('moves by rows only in the grid, and Shift extends', () => {
    expect(resolveKey({ key: 'ArrowDown', shiftKey: true }, grid)).toEqual({ type: 'move', dx: 0, dy: 1, extend: true });
    expect(resolveKey({ key: 'ArrowDown' }, { view: 'loupe', typing: false })).toBeNull();
    expect(resolveKey({ key: 'ArrowRight' }, { view: 'loupe', typing: false })).toEqual({ type: 'move', dx: 1, dy: 0, extend: false });
  });
  it('N marks the image safe or NSFW by hand, and the help overlay lists it', () => {
    expect(resolveKey({ key: 'n' }, grid)).toEqual({ type: 'nsfw' });
    expect(resolveKey({ key: 'N' }, { view: 'loupe', typing: false })).toEqual({ type: 'nsfw' });
    expect(SHORTCUTS.find((s) => s.keys.includes('N'))?.label).toMatch(/NSFW/);
  });
});
