import { describe, expect, it } from 'vitest'
import { parseWorkerMessage } from './worker-protocol.js'

describe('parseWorkerMessage', () => {
  it.each([
    [null, /expected an object, got null/],
    ['ready', /expected an object, got "ready"/],
    [[1], /got an array/],
    [{ log: 'fatal' }, /log level "fatal"/],
    [{ log: 'info', message: 3 }, /log message is number/],
    [{ id: 1, ok: false, error: null }, /error of reply 1 is null/],
    [{ id: 1, ok: false, error: { name: 'E' } }, /no string name and message/],
    [{ id: 0, ok: true }, /reply id number is not a positive integer/],
    [{ id: 1.5, ok: true }, /reply id number/],
    [{ id: 1, ok: 'yes' }, /"ok" is "yes"/],
    [{ out: 'stdin', text: '' }, /output stream "stdin"/],
    [{ dropped: -1 }, /dropped count/],
  ])('refuses %j with a reason', (message, reason) => {
    const parsed = parseWorkerMessage(message)
    expect(typeof parsed).toBe('string')
    expect(parsed).toMatch(reason)
  })

  it('passes well-formed messages through, typed', () => {
    expect(parseWorkerMessage({ id: 3, ok: true, value: { a: 1 } })).toEqual({ id: 3, ok: true, value: { a: 1 } })
    expect(parseWorkerMessage({ id: 3, ok: false, error: { name: 'TypeError', message: 'x', tag: 'call' } })).toMatchObject({ ok: false, error: { name: 'TypeError', tag: 'call' } })
    expect(parseWorkerMessage({ log: 'warn', message: 'hi' })).toEqual({ log: 'warn', message: 'hi' })
    expect(parseWorkerMessage({ out: 'stderr', text: 'x\n' })).toEqual({ out: 'stderr', text: 'x\n' })
    expect(parseWorkerMessage({ dropped: 7 })).toEqual({ dropped: 7 })
  })
})
