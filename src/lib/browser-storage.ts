/** localStorage where there is one and it may be used; undefined in Node and where it is blocked. */
export function browserStorage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined; // storage blocked (privacy settings, sandboxed frames)
  }
}
