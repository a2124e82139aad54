/** Fisher-Yates over 0..n-1, starting with `first` (the image the slideshow started on). */
export function shuffledOrder(n: number, first: number, random = Math.random): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  const k = a.indexOf(first);
  if (k > 0) [a[0], a[k]] = [a[k]!, a[0]!];
  return a;
}
