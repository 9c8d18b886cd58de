import { transform, build } from 'esbuild'
let s = ''
for (let k = 0; s.length < 512*1024; k++) s += `export function f${k}(a, b) { return a * ${k} + b - ${k % 7} }\n`
for (const [label, input, opts] of [['str nomap', s, {}], ['str map', s, { sourcemap: 'external' }], ['bytes map', Buffer.from(s), { sourcemap: 'external' }], ['str inline', s, {sourcemap:'inline'}]]) {
  await transform(input, { loader: 'js', ...opts })
  const t = performance.now(); for (let i = 0; i < 3; i++) await transform(input, { loader: 'js', ...opts }); console.log(label, ((performance.now() - t) / 3).toFixed(1))
}
