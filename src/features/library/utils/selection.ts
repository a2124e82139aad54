// Grid selection rules (click, ctrl/cmd toggle, shift range), independent of React.
export interface Selection {
  ids: ReadonlySet<string>;
  anchor: string | null;
  focus: string | null;
}

export const EMPTY_SELECTION: Selection = { ids: new Set(), anchor: null, focus: null };

export function clickSelect(sel: Selection, order: readonly string[], id: string, mods: { shift?: boolean; toggle?: boolean }): Selection {
  if (mods.shift && sel.anchor) {
    const a = order.indexOf(sel.anchor);
    const b = order.indexOf(id);
    if (a >= 0 && b >= 0) {
      const [lo, hi] = a < b ? [a, b] : [b, a];
      const range = order.slice(lo, hi + 1);
      const ids = new Set(mods.toggle ? [...sel.ids, ...range] : range);
      return { ids, anchor: sel.anchor, focus: id };
    }
  }
  if (mods.toggle) {
    const ids = new Set(sel.ids);
    if (ids.has(id)) ids.delete(id);
    else ids.add(id);
    return { ids, anchor: id, focus: id };
  }
  return { ids: new Set([id]), anchor: id, focus: id };
}

export function selectAll(order: readonly string[], focus: string | null): Selection {
  return { ids: new Set(order), anchor: order[0] ?? null, focus: focus ?? order[0] ?? null };
}

/** Keyboard move: focus moves by `delta` in display order; shift extends from the anchor. */
export function moveFocus(sel: Selection, order: readonly string[], delta: number, extend: boolean): Selection {
  if (order.length === 0) return sel;
  const cur = sel.focus ? order.indexOf(sel.focus) : -1;
  const next = cur < 0 ? 0 : Math.max(0, Math.min(order.length - 1, cur + delta));
  const id = order[next]!;
  if (extend) return clickSelect({ ...sel, anchor: sel.anchor ?? sel.focus ?? id }, order, id, { shift: true });
  return { ids: new Set([id]), anchor: id, focus: id };
}

/** Drops ids that are no longer in the view (after a filter change or a delete). */
export function pruneSelection(sel: Selection, present: ReadonlySet<string>): Selection {
  const ids = new Set([...sel.ids].filter((id) => present.has(id)));
  return {
    ids,
    anchor: sel.anchor && present.has(sel.anchor) ? sel.anchor : null,
    focus: sel.focus && present.has(sel.focus) ? sel.focus : null,
  };
}
