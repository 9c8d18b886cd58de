// hotswap-host dashboard, fleet view: shown when the host runs with --fleet. It reads
// GET /api/fleet once a second (with app.js's token-carrying `api()`, and its `el()` and
// `clock()` helpers, which classic scripts share) and draws the hosts, the version each
// serves, every rollout's progress and the fleet's recent events. Without a fleet the route
// is absent (404) and the section stays hidden.
'use strict'
;(() => {
  const POLL_MS = 1000
  const EVENTS = 30
  const section = document.getElementById('fleet')
  let timer

  const phaseClass = (phase) => (phase === 'done' ? 'ok' : phase === 'rolledBack' ? 'bad' : 'warn')
  const short = (hash) => (hash ? String(hash).slice(0, 8) : '–')

  async function poll() {
    clearTimeout(timer)
    if (!state.token || document.getElementById('app').hidden) {
      timer = setTimeout(poll, POLL_MS)
      return
    }
    try {
      const view = await api('GET', `/api/fleet?events=${EVENTS}`)
      draw(view)
    } catch (error) {
      if (error.code === 'NOT_FOUND') {
        section.hidden = true
        return // no fleet on this host: stop asking
      }
      if (error.message === 'unauthorized') return
      section.hidden = false
      section.dataset.error = error.message
      document.getElementById('fleet-error').textContent = `fleet: ${error.message}`
    }
    timer = setTimeout(poll, POLL_MS)
  }

  function draw({ host, fleet }) {
    section.hidden = false
    delete section.dataset.error
    document.getElementById('fleet-error').textContent = ''
    const me = document.getElementById('fleet-me')
    me.replaceChildren(
      host
        ? el('span', {}, 'this host ', el('b', { 'data-testid': 'fleet-host-id' }, host.hostId), ' · ', el('span', { class: host.connected ? 'ok' : 'bad' }, host.connected ? 'connected' : 'Redis unreachable'), host.coordinator ? ' · coordinator' : '')
        : el('span', { class: 'bad' }, 'this host did not join the fleet (see its log)'),
    )
    const ids = fleet.plugins.map((p) => p.id)
    const hosts = document.getElementById('fleet-hosts')
    hosts.replaceChildren(
      el('thead', {}, el('tr', {}, el('th', {}, 'host'), el('th', {}, 'alive'), ...ids.map((id) => el('th', {}, id)))),
      el(
        'tbody',
        {},
        fleet.hosts.map((h) =>
          el(
            'tr',
            { 'data-testid': 'fleet-host-row', dataset: { host: h.hostId } },
            el('td', {}, h.hostId),
            el('td', { class: h.alive ? 'ok' : 'bad' }, h.alive ? 'yes' : 'no'),
            ...ids.map((id) => {
              const served = h.report?.plugins?.[id]
              const where = fleet.plugins.find((p) => p.id === id)?.hosts.find((x) => x.hostId === h.hostId)
              const text = served?.version ?? '–'
              return el('td', { 'data-testid': 'fleet-serving', dataset: { plugin: id, version: text, inSync: String(where?.inSync ?? false) }, class: where && !where.inSync ? 'warn' : undefined, title: served?.hash ?? '' }, text, served && served.calls > 0 ? el('span', { class: 'muted' }, ` ${served.errors}/${served.calls} err`) : '')
            }),
          ),
        ),
      ),
    )
    const rollouts = document.getElementById('fleet-rollouts')
    rollouts.replaceChildren(
      ...fleet.plugins.map((p) => {
        const r = p.rollout
        const serving = p.hosts.filter((h) => h.serving === r.target.hash).length
        return el(
          'li',
          { 'data-testid': 'fleet-rollout', dataset: { plugin: p.id, phase: r.phase, version: r.target.version } },
          el('b', {}, p.id), ' ', r.target.version, ' ', el('span', { class: 'muted' }, short(r.target.hash)), ' ',
          el('span', { class: `pill ${phaseClass(r.phase)}` }, r.phase), ' ',
          el('span', { 'data-testid': 'fleet-progress' }, `${serving} of ${p.hosts.length} live hosts serve it`),
          r.canary.length > 0 ? el('span', { class: 'muted' }, ` · canary ${r.canary.join(', ')}`) : '',
          el('span', { class: 'muted' }, ` · back to ${r.stable ? r.stable.version : 'nothing (first version)'}`),
          r.reason ? el('code', {}, r.reason) : '',
        )
      }),
    )
    const history = document.getElementById('fleet-events')
    history.replaceChildren(
      ...[...fleet.events].reverse().map((e) =>
        el(
          'li',
          { 'data-testid': 'fleet-event', dataset: { type: e.type, plugin: e.id } },
          el('span', { class: 'time' }, clock(e.at)), ' ',
          el('b', { class: e.type === 'rolledBack' || e.type.endsWith('Failed') || e.type === 'artifactRefused' ? 'bad' : undefined }, e.type), ' ',
          e.id === '*' ? '' : `${e.id} ${e.version ?? ''}`, e.hostId ? el('span', { class: 'muted' }, ` on ${e.hostId}`) : '',
          e.reason ? el('span', { class: 'muted' }, ` · ${e.reason}`) : '',
        ),
      ),
    )
  }

  if (section) void poll()
})()
