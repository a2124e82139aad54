/** True when keyboard focus is in a text field (keyboard shortcuts and paste-import stay off). */
export function isTypingTarget(el: Element | null): boolean {
  if (!el) return false;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (el as HTMLInputElement).type;
    return !['checkbox', 'radio', 'range', 'button', 'submit', 'file', 'color'].includes(type);
  }
  return (el as HTMLElement).isContentEditable;
}
