// A directory plugin: its package.json gives the name, version and entry. A change to any
// file in this directory (messages.mjs too) reloads it.
import { greeting } from './messages.mjs'

let greeted = 0

export default {
  name: 'greeter',
  version: '1.0.0',
  setup(ctx) {
    greeted = ctx.state?.greeted ?? 0
    ctx.log.info(`greeter ready (${greeted} greetings so far)`)
    return {
      greet: (who = 'world') => {
        greeted += 1
        return `${greeting} ${who}!`
      },
      stats: () => ({ greeted }),
    }
  },
  saveState: () => ({ greeted }),
}
