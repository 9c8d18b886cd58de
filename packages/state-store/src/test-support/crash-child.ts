// Test support: a process that saves snapshots for several plugins in a loop until killed.
// argv: <dir> <plugin count>. Messages to the parent: { type: 'ready' }, { type: 'acked', id, seq }.
import { createSnapshot, createStateStore, fileAdapter } from '../index.js'
import { payloadFor } from './payload.js'

const [dir = '', countText = '4', maxBodyText = '48000'] = process.argv.slice(2)
const ids = Array.from({ length: Number(countText) }, (_, i) => `plugin-${i}`)
const maxBody = Number(maxBodyText)
const store = await createStateStore({ adapter: fileAdapter({ dir }), maxHistory: 3 })
const seqs = new Map<string, number>()
for (const id of ids) {
  const latest = await store.latest<{ seq: number }>(id)
  seqs.set(id, latest?.data.seq ?? 0)
}
process.send?.({ type: 'ready' })
for (;;) {
  await Promise.all(
    ids.map(async (id) => {
      const seq = (seqs.get(id) ?? 0) + 1
      await store.save(createSnapshot({ pluginId: id, pluginVersion: '1.0.0', data: payloadFor(id, seq, maxBody) }))
      seqs.set(id, seq)
      process.send?.({ type: 'acked', id, seq })
    }),
  )
}
