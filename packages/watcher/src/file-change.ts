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
  /**
   * Only on a `modified`: `true` when the file was replaced by another one renamed over it
   * (an editor's atomic save: temp file written, then renamed onto the target), as seen by the
   * low-latency path. A rename is complete by definition: the content read now is the whole
   * new file, so a consumer can skip any wait-until-it-stops-changing window. Absent for a
   * write in place (which may still be going on) and for a replacement the watcher could not
   * tell from an unlink followed by a fresh create (for example a temp file renamed from
   * another directory, or a change only the backend reported).
   */
  readonly atomic?: true
}
