// A stateful counter: it counts up once a second by itself and on every increment() call.
// Edit it while the host runs (change the version, the step, anything): the host reloads it
// and the new version goes on from the count the old one saved. Nothing is lost.
let count = 0
let timer

export default {
  name: 'counter',
  version: '1.0.0',

  setup(ctx) {
    if (ctx.state && typeof ctx.state.count === 'number') count = ctx.state.count
    timer = setInterval(() => {
      count += 1
    }, 1000)
    ctx.signal.addEventListener('abort', () => clearInterval(timer))
    return {
      increment: (by = 1) => (count += by),
      get: () => ({ version: '1.0.0', count }),
    }
  },

  // Handed to the next version's setup(ctx.state).
  saveState() {
    return { count }
  },

  // Called instead when the next version has another major: convert the old shape here.
  migrateState(data, fromVersion) {
    return typeof data === 'object' && data !== null && 'count' in data ? data : { count: 0, from: fromVersion }
  },

  dispose() {
    clearInterval(timer)
  },
}
