// Test support: a process that opens a file store on <dir>, reports, and holds it until told to close.
// Messages to the parent: { type: 'ready', pid } or { type: 'error', code, message, details }.
import { createStateStore, fileAdapter, StateStoreError } from '../index.js'

const [dir = ''] = process.argv.slice(2)
try {
  const store = await createStateStore({ adapter: fileAdapter({ dir }) })
  process.send?.({ type: 'ready', pid: process.pid })
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'close') {
      void store.close().then(() => process.exit(0))
    }
  })
} catch (error) {
  const e = error instanceof StateStoreError ? error : undefined
  process.send?.({ type: 'error', code: e?.code, message: String(error), details: e?.details })
  process.disconnect?.()
}
