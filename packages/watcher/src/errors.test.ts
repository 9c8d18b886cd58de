import { describe, expect, it } from 'vitest'
import { WatcherError, toWatcherError } from './errors.js'

describe('WatcherError', () => {
  it('maps the backend messages for ENOSPC (inotify_add_watch) to WATCH_LIMIT with the sysctl to raise', () => {
    // The exact text @parcel/watcher 2.6 throws from InotifyBackend::subscribe.
    const cause = new Error("inotify_add_watch on '/srv/plugins/a' failed: No space left on device")
    const err = toWatcherError(cause, '/srv/plugins')
    expect(err).toBeInstanceOf(WatcherError)
    expect(err.code).toBe('WATCH_LIMIT')
    expect(err.cause).toBe(cause)
    expect(err.message).toContain('fs.inotify.max_user_watches')
    expect(err.message).toContain('/srv/plugins')
  })

  it('maps EMFILE from inotify_init1 to WATCH_LIMIT naming max_user_instances', () => {
    const err = toWatcherError(new Error('Unable to initialize inotify: Too many open files'), '/p')
    expect(err.code).toBe('WATCH_LIMIT')
    expect(err.message).toContain('max_user_instances')
  })

  it('maps anything else to BACKEND_ERROR and keeps a WatcherError as it is', () => {
    const err = toWatcherError(new Error('Bad file descriptor'), '/p')
    expect(err.code).toBe('BACKEND_ERROR')
    expect(err.name).toBe('WatcherError')
    expect(toWatcherError(err, '/q')).toBe(err)
    expect(toWatcherError('text', '/q').message).toContain('text')
  })
})
