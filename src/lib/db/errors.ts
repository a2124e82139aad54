/** Raised when the browser refuses a write because the origin's storage quota is used up. */
export class StorageQuotaError extends Error {
  constructor(cause: unknown) {
    super(
      'Browser storage is full: the image was not saved. Free space by exporting and deleting ' +
        'images, or allow more storage for this site in the browser settings.',
      { cause },
    );
    this.name = 'StorageQuotaError';
  }
}

export function isQuotaError(err: unknown): boolean {
  if (err instanceof StorageQuotaError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const { name, code } = err as { name?: unknown; code?: unknown };
  // 22: legacy QUOTA_EXCEEDED_ERR; 1014: old Firefox NS_ERROR_DOM_QUOTA_REACHED
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED' || code === 22 || code === 1014;
}
