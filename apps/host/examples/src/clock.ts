// A plugin written in TypeScript: `pnpm run build` bundles it with esbuild into
// examples/plugins/clock.mjs, which the host loads and reloads like any other plugin.
// Rebuild while the host runs (`pnpm --filter hotswap-host run build:examples`) to reload it.
import type { PluginContext, PluginDefinition } from '@hotswap/registry'

interface ClockState {
  readonly bootedAt: number
  readonly versions: number
}

interface ClockApi {
  now(): string
  uptimeMs(): number
  versions(): number
}

let state: ClockState = { bootedAt: Date.now(), versions: 0 }

const clock: PluginDefinition<ClockApi, ClockState> = {
  name: 'clock',
  version: '1.0.0',
  setup(ctx: PluginContext<ClockState>): ClockApi {
    const previous = ctx.state
    state = { bootedAt: previous?.bootedAt ?? Date.now(), versions: (previous?.versions ?? 0) + 1 }
    return {
      now: () => new Date().toISOString(),
      uptimeMs: () => Date.now() - state.bootedAt,
      versions: () => state.versions,
    }
  },
  saveState: (): ClockState => state,
}

export default clock
