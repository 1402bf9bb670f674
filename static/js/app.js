// Children's Services Online: page set-up (an ES module, loaded with
// <script type="module">, so it runs after the deferred htmx scripts).
//
// - starts GOV.UK Frontend components, on the page and in HTMX swaps;
// - sends the CSRF token with every HTMX request (X-CSRF-Token);
// - marks passive requests (X-Portal-Passive: 1) so polling, live updates
//   and saves made while signing out do not count as activity;
// - saves drafts before signing out, and when a page is left just after
//   typing; tries a draft the service could not save again until it can;
// - shows HTMX errors in the #flash region, and other scripts' messages;
// - saves the drafts of a form that takes files as words only (the
//   words-only htmx extension); shows an upload's progress and stops it;
// - registers the service worker; deletes what offline.js left waiting on a
//   page shown to someone not signed in.
// No inline script, no eval, no English: every text comes from the page.

import { Button, initAll } from '/static/govuk/govuk-frontend.min.js'

const body = document.body
body.classList.add('govuk-frontend-supported', 'js-enabled')
initAll()

// What waits to be sent (offline.js) belongs to the signed-in session that
// wrote it: a page shown to someone not signed in (no portal-device-key in
// its head) deletes it. The offline page, which the service worker shows
// when the network failed, knows nothing of the session: it deletes nothing.
if (!document.querySelector('meta[name="portal-device-key"], [data-offline-page]') && window.indexedDB) {
  try { window.indexedDB.deleteDatabase('portal-offline') } catch (e) {}
}

// The service worker (static/js/sw.js, at the path the page names) keeps
// the static files and the offline page. It is registered once the page
// has loaded, so it never competes with the page for a slow line, and told
// the page's language, for its offline page.
function startWorker () {
  const meta = document.querySelector('meta[name="portal-service-worker"]')
  if (!meta || !('serviceWorker' in navigator)) return
  navigator.serviceWorker.register(meta.getAttribute('content'))
    .then(() => navigator.serviceWorker.ready)
    .then((reg) => { if (reg.active) reg.active.postMessage({ lang: document.documentElement.lang }) })
    .catch(() => {})
}
if (document.readyState === 'complete') startWorker()
else window.addEventListener('load', startWorker)

// words are a form's text fields (FormData), URL-encoded, without its
// files.
function words (data) {
  const out = new URLSearchParams()
  data.forEach((value, name) => { if (typeof value === 'string') out.append(name, value) })
  return out
}

// A form that takes files (enctype multipart) saves its drafts as words
// only (hx-ext="words-only"): URL-encoded, the only body a draft route
// takes (it answers anything else with 415), and small on a slow line
// however large the photos chosen. htmx asks for the body
// (encodeParamsForBody) after opening the request and setting its
// headers. For a multipart form it set no Content-Type, leaving it to
// FormData's boundary; the URLSearchParams body then gets its own,
// application/x-www-form-urlencoded, from the browser. An element htmx
// sends URL-encoded anyway (the type's select, inside the form) keeps
// htmx's header: setRequestHeader here would add a second value to it.
if (window.htmx) {
  window.htmx.defineExtension('words-only', {
    encodeParameters: (xhr, parameters) => words(parameters)
  })
}

function csrfToken () {
  const meta = document.querySelector('meta[name="csrf-token"]')
  return meta ? meta.getAttribute('content') : ''
}

// A request is passive when its element (or an ancestor) has data-passive,
// or while the idle timer is saving drafts before signing out.
function signingOut () {
  return document.documentElement.hasAttribute('data-portal-signing-out')
}

function isPassive (elt) {
  if (signingOut()) return true
  return !!(elt && elt.closest && elt.closest('[data-passive]'))
}

document.addEventListener('htmx:configRequest', (event) => {
  const detail = event.detail
  detail.headers['X-CSRF-Token'] = csrfToken()
  // The form's idempotency key (_idem) goes in a header too. In an upload
  // the server takes it from the part after _csrf, which it reads only
  // when the token is not in a header, as it is here: without this a
  // multipart form htmx sends (a reply with files) would have no key, and
  // sent again after "Stop sending" would arrive twice.
  const idem = detail.formData && detail.formData.get('_idem')
  if (typeof idem === 'string' && idem !== '') detail.headers['Idempotency-Key'] = idem
  if (isPassive(detail.elt)) detail.headers['X-Portal-Passive'] = '1'
  // A final save may reach the server just after the session ends, and
  // still counts (web.FinalSaveGrace): it is sent before the end.
  if (signingOut()) detail.headers['X-Portal-Final-Save'] = '1'
})

// A page HTMX is leaving (an answer said HX-Redirect: a sign-in finished,
// a form was sent) sends nothing more. Its session may have just been
// renewed with a new CSRF token, so a poll still due (every 3 s on "Call
// me") would only be refused; on a slow line the next page can take longer
// than that to arrive.
let leaving = false
document.addEventListener('htmx:beforeOnLoad', (event) => {
  const xhr = event.detail && event.detail.xhr
  if (xhr && xhr.getResponseHeader('HX-Redirect')) leaving = true
})
document.addEventListener('htmx:beforeRequest', (event) => {
  if (leaving) event.preventDefault()
})

// Start GOV.UK Frontend components in content HTMX adds. Components already
// started say so with an error we do not need to see.
document.addEventListener('htmx:load', (event) => {
  const elt = event.detail && event.detail.elt
  if (!elt || elt === body || !elt.parentElement) return
  initAll({
    scope: elt.parentElement,
    onError: (error) => {
      if (!error || error.name !== 'InitError') console.error(error)
    }
  })
})

// The renderer adds an empty #flash to every HTMX answer so that old
// messages go away after an action. A passive answer (a poll, a live
// update) must not wipe a message the person has not read yet.
let passiveSwap = false

function setFlash (text, kind) {
  const flash = document.getElementById('flash')
  if (!flash) return
  const banner = document.createElement('div')
  banner.className = 'govuk-notification-banner' + (kind === 'info' ? '' : ' app-notification-banner--error')
  banner.setAttribute('role', 'region')
  banner.setAttribute('aria-labelledby', 'flash-js-title')
  const header = document.createElement('div')
  header.className = 'govuk-notification-banner__header'
  const title = document.createElement('h2')
  title.className = 'govuk-notification-banner__title'
  title.id = 'flash-js-title'
  title.textContent = flash.getAttribute('data-title') || ''
  header.appendChild(title)
  const content = document.createElement('div')
  content.className = 'govuk-notification-banner__content'
  const p = document.createElement('p')
  p.className = 'govuk-notification-banner__heading'
  p.textContent = text
  content.appendChild(p)
  banner.appendChild(header)
  banner.appendChild(content)
  flash.replaceChildren(banner)
  return banner
}

// Other scripts show their messages here too (offline.js): window
// "portal:flash" with detail {text, kind ("info" is no error), focus}.
window.addEventListener('portal:flash', (event) => {
  const d = event.detail || {}
  const banner = setFlash(d.text || '', d.kind)
  if (banner && d.focus) {
    banner.setAttribute('tabindex', '-1')
    banner.focus()
  }
})

document.addEventListener('htmx:beforeSwap', (event) => {
  const detail = event.detail
  const headers = (detail.requestConfig && detail.requestConfig.headers) || {}
  passiveSwap = headers['X-Portal-Passive'] === '1'
  const xhr = detail.xhr
  if (!xhr || xhr.status < 400) return
  if (xhr.status === 422 || ((xhr.status === 413 || xhr.status === 503) && !xhr.getResponseHeader('HX-Retarget'))) {
    // An invalid form (or an upload too large, or one storage could not
    // keep just now) comes back with its errors: show it.
    detail.shouldSwap = true
    detail.isError = false
  } else if (xhr.getResponseHeader('HX-Retarget')) {
    // The error handler answers with a message for #flash: shown, so handled.
    detail.shouldSwap = true
    detail.isError = false
  } else if (!passiveSwap) {
    setFlash(document.getElementById('flash')?.getAttribute('data-failed') || '')
  }
})

document.addEventListener('htmx:sseBeforeMessage', () => { passiveSwap = true })

// A live stream the server ended or refuses (access ended, signed out
// elsewhere): the page asks whether it may still be shown, passively, and
// if not (sent to sign in, or refused) reloads, so the record leaves the
// screen at once. A service that is having a problem (5xx) or out of
// reach is no answer: the page stays, with what is typed on it, and the
// stream reconnects by itself.
let checkingPage = false
document.addEventListener('htmx:sseError', () => {
  if (checkingPage) return
  checkingPage = true
  fetch(window.location.href, { method: 'HEAD', credentials: 'same-origin', redirect: 'manual', cache: 'no-store', headers: { 'X-Portal-Passive': '1' } })
    .then((r) => { if (r.type === 'opaqueredirect' || (r.status >= 400 && r.status < 500)) window.location.reload() })
    .catch(() => {})
    .finally(() => { checkingPage = false })
})

document.addEventListener('htmx:oobBeforeSwap', (event) => {
  const detail = event.detail
  if (!detail || !detail.target || detail.target.id !== 'flash') return
  const fragment = detail.fragment
  const empty = !fragment || fragment.textContent.trim() === ''
  if (empty && passiveSwap) detail.shouldSwap = false
})

document.addEventListener('htmx:sendError', (event) => {
  if (isPassive(event.detail && event.detail.elt)) return
  setFlash(document.getElementById('flash')?.getAttribute('data-offline') || '')
})

// Uploads ("Send a document"): a progress bar while the file goes up
// (htmx's xhr progress events on form[data-upload]), and "Select everyone"
// buttons (data-select-all names the checkboxes), shown only with
// JavaScript: without it the form posts as a plain multipart form and each
// person is ticked by hand. Listeners sit on the document, so content that
// HTMX swaps in (the form back with its errors) works the same.
function showSelectAll (root) {
  root.querySelectorAll('button[data-select-all]').forEach((button) => { button.hidden = false })
}
showSelectAll(document)
document.addEventListener('htmx:load', (event) => {
  const elt = event.detail && event.detail.elt
  if (elt && elt.querySelectorAll) showSelectAll(elt)
})
document.addEventListener('click', (event) => {
  const button = event.target.closest && event.target.closest('button[data-select-all]')
  if (!button || !button.form) return
  const name = button.getAttribute('data-select-all')
  button.form.querySelectorAll('input[type="checkbox"]').forEach((box) => {
    if (box.name === name) box.checked = true
  })
})
// offline.js sends a form[data-offline] itself and reports its upload as
// htmx does (portal:upload-progress, the same detail); htmx only saves
// that form's drafts, words without files, which show no progress.
function uploadProgress (event) {
  const form = event.target.closest && event.target.closest('form[data-upload]')
  const bar = form && form.querySelector('progress')
  if (!bar || (form.hasAttribute('data-offline') && event.type !== 'portal:upload-progress')) return
  bar.closest('.app-upload-progress').hidden = false
  const d = event.detail
  if (d && d.lengthComputable && d.total > 0) bar.value = Math.round(d.loaded / d.total * 100)
}
document.addEventListener('htmx:xhr:loadstart', uploadProgress)
document.addEventListener('htmx:xhr:progress', uploadProgress)
document.addEventListener('portal:upload-progress', uploadProgress)

// uploadEnded hides the progress (and its "Stop sending") of an upload
// that ended without leaving the page: stopped, failed, or kept on the
// device by offline.js (portal:upload-end).
function uploadEnded (form) {
  const block = form && form.querySelector('.app-upload-progress')
  if (!block) return
  block.hidden = true
  block.querySelector('progress').value = 0
}
document.addEventListener('portal:upload-end', (event) => uploadEnded(event.target))
document.addEventListener('htmx:sendError', (event) => {
  uploadEnded(event.target.closest && event.target.closest('form[data-upload]:not([data-offline])'))
})

// GOV.UK Frontend's prevent-double-click ignores a press within a second of
// the one before, with no way to reset it: a button of a form stopped that
// soon is replaced by a fresh copy, started anew, so the next press sends.
function freshButtons (form) {
  form.querySelectorAll('button[data-prevent-double-click]').forEach((old) => {
    const button = old.cloneNode(true)
    button.removeAttribute('data-' + Button.moduleName + '-init')
    old.replaceWith(button)
    new Button(button)
  })
}

// "Stop sending" ([data-upload-cancel], in the progress block, so seen only
// while an upload goes up) stops it: htmx's request for a form htmx sends;
// for a form[data-offline], offline.js's, which it aborts when told
// (portal:upload-cancel on the form) and keeps nothing. Either way the
// words stay, the form may be sent again at once (its drafts save again,
// its buttons start afresh) and the page says so; a stopped try that
// reached the service anyway is answered by its key when sent again, not
// repeated. A send already answered is left alone: its page is on its way.
document.addEventListener('click', (event) => {
  const button = event.target.closest && event.target.closest('button[data-upload-cancel]')
  const form = button && button.form
  if (!form) return
  if (form.hasAttribute('data-offline')) {
    if (!form.hasAttribute('data-offline-sending')) return
    form.dispatchEvent(new CustomEvent('portal:upload-cancel', { bubbles: true }))
  } else {
    if (!form.classList.contains('htmx-request')) return
    window.htmx.trigger(form, 'htmx:abort')
  }
  const text = button.closest('.app-upload-progress').getAttribute('data-cancelled')
  uploadEnded(form)
  form.removeAttribute('data-submitting')
  freshButtons(form)
  window.dispatchEvent(new CustomEvent('portal:flash', { detail: { text, kind: 'info', focus: true } }))
})

// "Print" buttons (data-print): shown only with JavaScript, which they
// need; the print stylesheet makes the page clean on paper either way.
document.querySelectorAll('button[data-print]').forEach((button) => {
  button.hidden = false
  button.addEventListener('click', () => window.print())
})

// Forms save themselves (form[data-autosave]: htmx posts the page a few
// seconds after typing stops) and, when the idle countdown is about to
// sign the person out or they press "Sign out", once more at once, so
// neither loses anything. The promise says whether the save succeeded.
function finalSave (form) {
  return new Promise((resolve) => {
    // Only a request made from now on carries what is on the page now;
    // one already on its way (an autosave) does not count.
    let mine = false
    const onConfig = (event) => { if (event.detail.elt === form) mine = true }
    const onAfter = (event) => {
      if (event.detail.elt !== form || !mine) return
      form.removeEventListener('htmx:configRequest', onConfig)
      form.removeEventListener('htmx:afterRequest', onAfter)
      // An error shown in #flash counts as a success to htmx: the status says.
      const xhr = event.detail.xhr
      resolve(!!event.detail.successful && !!xhr && xhr.status < 400)
    }
    form.addEventListener('htmx:configRequest', onConfig)
    form.addEventListener('htmx:afterRequest', onAfter)
    window.htmx.trigger(form, 'portal:autosave')
  })
}

// A form whose own button is sending it (data-submitting) saves no draft:
// its words go with that post, or wait for the signal (offline.js), and no
// autosave may start after it (below), so its save would never answer.
window.addEventListener('portal:before-signout', (event) => {
  document.querySelectorAll('form[data-autosave]:not([data-submitting])').forEach((form) => {
    event.detail.waitUntil(finalSave(form))
  })
})

// A page left within the autosave's delay (a link followed just after
// typing) sends what was typed with a request that outlives the page.
// Browsers carry at most 64 KiB that way; a longer text waits for the
// next save as before. A form's own submit carries its words itself.
const unsaved = new Set()
const KEEPALIVE_MAX = 60000

function autosaveForm (target) {
  return target && target.closest ? target.closest('form[data-autosave]') : null
}

document.addEventListener('input', (event) => {
  const form = autosaveForm(event.target)
  if (form) unsaved.add(form)
}, true)
document.addEventListener('htmx:beforeRequest', (event) => {
  if (event.detail.elt && event.detail.elt.matches && event.detail.elt.matches('form[data-autosave]')) unsaved.delete(event.detail.elt)
})
document.addEventListener('htmx:afterRequest', (event) => {
  const elt = event.detail.elt
  if (!event.detail.successful && elt && elt.matches && elt.matches('form[data-autosave]')) unsaved.add(elt)
})
document.addEventListener('submit', (event) => { unsaved.delete(event.target) }, true)

// A form's own buttons (Continue, Save for later, Send) go after any save
// already on its way, and no save starts after them: the button's post
// carries the newest revision, and a late save can neither be refused as
// stale nor bring back a draft that Send has just discarded.
document.addEventListener('submit', (event) => {
  const form = event.target
  if (!form.matches || !form.matches('form[data-autosave]')) return
  if (form.classList.contains('htmx-request')) {
    event.preventDefault()
    const submitter = event.submitter
    // After the document's own listeners have read that save's answer
    // (a save the service could not make holds the button back, below).
    form.addEventListener('htmx:afterRequest', () => window.setTimeout(() => form.requestSubmit(submitter), 0), { once: true })
    return
  }
  form.setAttribute('data-submitting', '')
}, true)
document.addEventListener('htmx:beforeRequest', (event) => {
  const elt = event.detail.elt
  if (elt && elt.matches && elt.matches('form[data-autosave][data-submitting]')) event.preventDefault()
})
// A draft the service could not save (503: its database is down or
// restarting; or no answer at all) is tried again, after the answer's
// Retry-After and then twice as long each time, up to a minute, while the
// page is open: what was typed during an outage is saved when the service
// returns, and the page then says so. Until then the form's own buttons do
// not send it away (its words would leave the screen for an error page):
// the page says the work is kept here, and tries the save at once.
const RETRY_MOST_S = 60
const down = new WeakMap() // form → {wait (seconds), timer}

function saveFailed (form, xhr) {
  const was = down.get(form)
  const after = parseInt((xhr && xhr.getResponseHeader('Retry-After')) || '', 10)
  const wait = was ? Math.min(was.wait * 2, RETRY_MOST_S) : Math.max(1, Math.min(isNaN(after) ? 5 : after, RETRY_MOST_S))
  if (was) window.clearTimeout(was.timer)
  const timer = window.setTimeout(() => {
    if (form.isConnected && !form.hasAttribute('data-submitting')) window.htmx.trigger(form, 'portal:autosave')
  }, wait * 1000)
  down.set(form, { wait, timer })
}

document.addEventListener('htmx:afterRequest', (event) => {
  const form = event.detail.elt
  if (!form || !form.matches || !form.matches('form[data-autosave]') || signingOut()) return
  // (A 503 is shown in #flash, so htmx counts it a success: the status
  // says.)
  const xhr = event.detail.xhr
  if (!xhr || xhr.status === 0 || xhr.status === 503) {
    saveFailed(form, xhr)
  } else if (down.has(form)) {
    // The service answers again: no more tries. Saved only if no error
    // came (a refusal, 4xx, is shown in #flash and said there).
    window.clearTimeout(down.get(form).timer)
    down.delete(form)
    if (xhr.status < 400) setFlash(document.getElementById('flash')?.getAttribute('data-saved') || '', 'info')
  }
})

// (A form offline.js sends keeps its words on the device and sends them
// when the service is back: it goes.)
document.addEventListener('submit', (event) => {
  const form = event.target
  if (event.defaultPrevented || !down.has(form) || form.hasAttribute('data-offline')) return
  event.preventDefault()
  form.removeAttribute('data-submitting') // set by the listener above: it saves again
  unsaved.add(form)
  // The region takes the focus, not its message: the save tried at once
  // may answer with the message again, in place of this one.
  const flash = document.getElementById('flash')
  if (flash) {
    setFlash(flash.getAttribute('data-down') || '')
    flash.setAttribute('tabindex', '-1')
    flash.focus()
  }
  window.clearTimeout(down.get(form).timer)
  window.htmx.trigger(form, 'portal:autosave')
}, true)

// Back to a page the browser kept: its forms save themselves again.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) document.querySelectorAll('form[data-submitting]').forEach((f) => f.removeAttribute('data-submitting'))
})

window.addEventListener('pagehide', () => {
  unsaved.forEach((form) => {
    const body = words(new FormData(form))
    try {
      const vals = JSON.parse(form.getAttribute('hx-vals') || '{}')
      Object.keys(vals).forEach((k) => body.set(k, vals[k]))
    } catch (e) {}
    const text = body.toString()
    if (text.length > KEEPALIVE_MAX) return
    fetch(form.getAttribute('hx-post'), {
      method: 'POST',
      credentials: 'same-origin',
      keepalive: true,
      body: text,
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-CSRF-Token': csrfToken(),
        'X-Portal-Passive': '1',
        'HX-Request': 'true'
      }
    }).catch(() => {})
  })
  unsaved.clear()
})
