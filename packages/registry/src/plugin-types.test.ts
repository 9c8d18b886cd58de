// What a TypeScript plugin author sees: ctx.config typed from the schema, ctx.services from
// the host's PluginServices, ctx.plugins limited to dependsOn (checked by tsc and vitest).
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { definePlugin } from './plugin.js'
import type { RemoteResult } from './services.js'
import type { JsonValue } from '@hotswap/state-store'

declare module './plugin-context.js' {
  interface PluginServices {
    kv: { get(key: string): string | undefined; set(key: string, value: string): Promise<void>; scan(prefix: string): AsyncIterable<string> }
    clock: () => number
  }
}

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
        expectTypeOf<ReturnType<(typeof ctx.services.kv)['get']>>().toEqualTypeOf<RemoteResult<string | undefined>>()
        expectTypeOf(ctx.services.clock).returns.toEqualTypeOf<RemoteResult<number>>()
        expectTypeOf(ctx.services.kv.scan('a')).toExtend<AsyncIterable<string>>()
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
