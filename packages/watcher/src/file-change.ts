/**
 * The kind of a {@link FileChange}.
 *
 * @example
 * ```ts
 * const reload = (kind: FileChangeKind) => kind !== 'deleted'
 * ```
 */
export type FileChangeKind = 'created' | 'modified' | 'deleted' | 'renamed'

/**
 * One change of one file below a watched root, as emitted by {@link watch}.
 *
 * Paths are absolute. Only files (and, unless `followSymlinks` is set, symbolic links) are
 * reported: a directory that appears is reported as a `created` for every file in it, one that
 * goes as a `deleted` for every file that was known in it, one that is renamed inside a root as
 * a `renamed` for every file in it.
 *
 * @example
 * ```ts
 * const change: FileChange = { kind: 'renamed', path: '/p/b.mjs', oldPath: '/p/a.mjs', root: '/p' }
 * ```
 */
export interface FileChange {
  /** What happened to the file. */
  readonly kind: FileChangeKind
  /** Absolute path of the file (its new path for `renamed`). */
  readonly path: string
  /** Absolute former path, only for `renamed`. */
  readonly oldPath?: string
  /** The root (absolute, as passed to `watch`) this change was seen under. */
  readonly root: string
}
