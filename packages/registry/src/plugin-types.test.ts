// What a TypeScript plugin author sees: ctx.config typed from the schema, ctx.services from
// the host's PluginServices, ctx.plugins limited to dependsOn (checked by tsc and vitest).
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { definePlugin } from './plugin.js'
import type { JsonValue } from '@hotswap/state-store'

// (A host declares its services by merging them into PluginServices; that merge is global, so it
// is not done here, where it would leak into the package's API docs: un-merged services are typed
// as objects of async functions.)

describe('definePlugin types', () => {
  it('types ctx.config, ctx.services and ctx.plugins from the definition', () => {
    const plugin = definePlugin({
      name: 'links',
      version: '1.0.0',
      config: z.object({ base: z.string(), maxLength: z.number().default(8) }),
      uses: ['kv', 'clock'],
      dependsOn: { greeter: '^1.0.0' },
      setup(ctx) {
        expectTypeOf(ctx.config).toEqualTypeOf<{ base: string; maxLength: number }>()
        expectTypeOf<keyof typeof ctx.services>().toEqualTypeOf<'kv' | 'clock'>()
        expectTypeOf<Parameters<(typeof ctx.plugins)['get']>[0]>().toEqualTypeOf<'greeter'>()
        // @ts-expect-error -- not in uses
        void ctx.services.mail
        return { shorten: (url: string) => `${ctx.config.base}/${url.slice(0, ctx.config.maxLength)}` }
      },
    })
    expectTypeOf(plugin.name).toEqualTypeOf<string>()
  })

  it('without a schema, ctx.config is JSON', () => {
    definePlugin({
      name: 'plain',
      version: '1.0.0',
      setup(ctx) {
        expectTypeOf(ctx.config).toEqualTypeOf<JsonValue | undefined>()
        return {}
      },
    })
  })
})
