// Bench soak child: saves snapshots for several plugins in a loop until SIGKILLed.
// argv: <dir> <plugin count> <max body>. Messages: { type: 'ready' }, { type: 'acked', id, seq }.
import { createSnapshot, createStateStore, fileAdapter } from '@hotswap/state-store'
import { payloadFor } from './state-store-payload.mjs'

const [dir = '', countText = '4', maxBodyText = '48000'] = process.argv.slice(2)
const ids = Array.from({ length: Number(countText) }, (_, i) => `plugin-${i}`)
const maxBody = Number(maxBodyText)
const store = await createStateStore({ adapter: fileAdapter({ dir }), maxHistory: 3 })
const seqs = new Map()
for (const id of ids) seqs.set(id, (await store.latest(id))?.data.seq ?? 0)
process.send?.({ type: 'ready' })
for (;;) {
  await Promise.all(
    ids.map(async (id) => {
      const seq = seqs.get(id) + 1
      await store.save(createSnapshot({ pluginId: id, pluginVersion: '1.0.0', data: payloadFor(id, seq, maxBody) }))
      seqs.set(id, seq)
      process.send?.({ type: 'acked', id, seq })
    }),
  )
}
