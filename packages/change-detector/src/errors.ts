/**
 * What went wrong in {@link ChangeDetectorError}:
 * - `IS_DIRECTORY`: the path names a directory, not a file;
 * - `PERMISSION_DENIED`: the file exists but cannot be read (EACCES/EPERM);
 * - `UNSTABLE`: the file kept changing while it was being hashed (it is still being written);
 * - `IO_ERROR`: any other failure of the file system;
 * - `INVALID_OPTIONS`: a caller passed an option or an input this package cannot use (the message says which).
 *
 * @example
 * ```ts
 * try {
 *   await detector.check('plugins/greeter.mjs')
 * } catch (error) {
 *   const code: ChangeDetectorErrorCode | undefined = error instanceof ChangeDetectorError ? error.code : undefined
 *   if (code === 'UNSTABLE') console.log('still being written; check again on the next change')
 *   else throw error
 * }
 * ```
 */
export type ChangeDetectorErrorCode = 'IS_DIRECTORY' | 'PERMISSION_DENIED' | 'UNSTABLE' | 'IO_ERROR' | 'INVALID_OPTIONS'

/**
 * The typed error of `@hotswap/change-detector`: switch on `code`; the underlying error, if
 * any, is kept as `cause`, and `path` names the file involved.
 *
 * @example
 * ```ts
 * try {
 *   await hashFile('/etc')
 * } catch (error) {
 *   if (error instanceof ChangeDetectorError && error.code === 'IS_DIRECTORY') console.log('not a file')
 * }
 * ```
 */
export class ChangeDetectorError extends Error {
  /** Always `'ChangeDetectorError'`. */
  override readonly name = 'ChangeDetectorError'
  /** The reason, for callers to switch on. */
  readonly code: ChangeDetectorErrorCode
  /** The file the error is about, when there is one. */
  readonly path: string | undefined

  /**
   * @param code - the reason
   * @param message - what went wrong and what to do about it
   * @param options - `cause` (the underlying error) and `path`
   */
  constructor(code: ChangeDetectorErrorCode, message: string, options?: ErrorOptions & { readonly path?: string }) {
    super(message, options)
    this.code = code
    this.path = options?.path
  }
}

/** Maps a Node.js file-system error to a {@link ChangeDetectorError}. @internal */
export function fromFsError(error: unknown, path: string): ChangeDetectorError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === 'EISDIR') {
    return new ChangeDetectorError('IS_DIRECTORY', `${path} is a directory; pass the path of a file`, { cause: error, path })
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new ChangeDetectorError('PERMISSION_DENIED', `cannot read ${path} (${code}); check its permissions`, { cause: error, path })
  }
  return new ChangeDetectorError('IO_ERROR', `cannot read ${path}: ${(error as Error | undefined)?.message ?? String(error)}`, { cause: error, path })
}
