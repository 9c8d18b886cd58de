// The event journal: what it keeps for resuming clients and what it only passes on.
import { Subject } from 'rxjs'
import { describe, expect, it } from 'vitest'
import type { PipelineEvent } from '@hotswap/pipeline'
import { EventJournal } from './journal.js'

describe('EventJournal', () => {
  it('passes heap samples on to its listeners without keeping them for resuming clients', () => {
    const events$ = new Subject<PipelineEvent>()
    const journal = new EventJournal({ events$ }, { keepEvents: 3 })
    const heard: string[] = []
    journal.subscribe((entry) => heard.push(entry.name))
    const sample = { type: 'registry', event: { type: 'memorySampled', id: 'p', version: '1.0.0', heapBytes: 1000, at: 0 } } as unknown as PipelineEvent
    const loaded = { type: 'registry', event: { type: 'loaded', id: 'p', version: '1.0.0', path: '/p.mjs', at: 0, durationMs: 1 } } as unknown as PipelineEvent
    events$.next(loaded)
    for (let i = 0; i < 10; i++) events$.next(sample)
    expect(heard).toHaveLength(11)
    expect(heard.filter((n) => n.includes('memorySampled'))).toHaveLength(10)
    // the samples did not push the load out of the three kept events
    expect(journal.since(0).map((e) => e.name)).toEqual([heard[0]])
    expect(journal.seq).toBe(11)
    journal.close()
  })
})
