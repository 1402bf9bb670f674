// Children's Services Online: nothing lost without signal (issue 16). An
// ES module, loaded on signed-in pages only (web.View.HeadLinks).
//
// A form marked data-offline (a new message, a reply, a form's Confirm) is
// sent by this script instead of by the browser, so that a send that
// cannot reach the service is kept rather than lost:
// - offline (navigator.onLine false), or when the POST fails with a
//   network error or a 503 that says nothing was done (X-Portal-Retry:
//   safe: the service's database or file store is down), its fields
//   (URL-encoded, _csrf and _idem included) and the files chosen in it
//   wait in IndexedDB, encrypted with AES-GCM under
//   the session's device key: the fields with the files' names and types
//   as one sealed text, each file's bytes sealed on its own beside it (an
//   ArrayBuffer, bound to the entry and its place), all in one entry. The
//   page says so (the form's data-offline text, else #flash's data-queued)
//   and the words and files stay in the form (what is typed or chosen
//   afterwards replaces what waits);
// - when the connection returns (the online event, or a retry while the
//   browser believes it is online), and on every signed-in page load, what
//   waits is sent again: the same fields and files, so the same
//   idempotency key (app/idempotency), and a send that did arrive the first
//   time is answered, not done twice. Any HTTP answer but a 5xx takes it
//   off the queue: a refusal (4xx) is shown, never retried for ever.
//
// Words alone go URL-encoded (fetch). With files, the body is multipart:
// the fields in the form's order, then the files, the order the server
// reads (a file too large ends its reading, and the words are kept). It
// goes by XMLHttpRequest, whose upload reports its progress (app.js draws
// it: portal:upload-progress) and can be stopped (app.js's "Stop sending":
// portal:upload-cancel); a send stopped keeps nothing, and the words stay.
//
// The device key comes from the URL in <meta name="portal-device-key">
// (GET, derived by the server from the session): fetched on each page and
// held here, in memory, only. What waits is unreadable without the session
// that wrote it, and is wiped at sign-out and at the idle timeout
// (idle.js's portal:leaving) and on any page shown to someone not signed
// in (app.js).
//
// Where an answer leads: the POST says HX-Request and HX-Boosted, as a form
// htmx boosts would. web.Redirect then answers a success with HX-Redirect,
// its exact target (#latest included) and nothing to follow, and an error
// comes as a whole page (web.IsFragmentRequest), whose main content
// replaces this page's. An answer kept from a first try made without this
// script is a 303, which fetch follows: the page goes to response.url.
// (With redirect: 'manual' a 303 is an opaque redirect whose Location a
// script cannot read, so following is the only way to learn where it
// leads.)
// No English or Welsh here: every text comes from the page.

const DB = 'portal-offline' // app.js deletes it by this name
const STORE = 'waiting'
const LOCK = 'portal-offline'
const RETRY_FIRST_MS = 15000
const RETRY_MOST_MS = 300000

const keyMeta = document.querySelector('meta[name="portal-device-key"]')
const encoder = new TextEncoder()
const submitters = new WeakMap() // form → the button that sent it
const uploads = new WeakMap() // form → the XMLHttpRequest taking its files up
// File → its sealing for one entry, so that words typed while it waits do
// not encrypt the photos again: {key, aad, sealed}.
const sealedFiles = new WeakMap()

let keyPromise = null // the session's CryptoKey (not extractable)
let dbPromise = null
let leaving = false
let flushing = false
let retryTimer = 0
let retryMs = RETRY_FIRST_MS
let requeued = Promise.resolve()

// The device key, asked for once per page and kept in memory only.
function deviceKey () {
  if (!keyPromise) {
    keyPromise = fetch(keyMeta.getAttribute('content'), {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' }
    }).then((r) => {
      if (!r.ok) throw new Error('device key ' + r.status)
      return r.json()
    }).then((d) => crypto.subtle.importKey('raw', fromBase64url(d.key), 'AES-GCM', false, ['encrypt', 'decrypt']))
    keyPromise.catch(() => { keyPromise = null }) // asked again when next needed
  }
  return keyPromise
}

function fromBase64url (s) {
  return Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
}

// The queue: one entry per form, by its idempotency key, so the same form
// sent twice waits once: {id, iv, data (encrypted {action, body, files:
// [{field, name, type}]}), at}, and, when it has files, files: [{iv, data
// (the encrypted bytes)}] in the same order (JSON holds no bytes).
function openDB () {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1)
      req.onupgradeneeded = () => { req.result.createObjectStore(STORE, { keyPath: 'id' }) }
      req.onsuccess = () => {
        const db = req.result
        // Another tab's app.js deletes the database: let it.
        db.onversionchange = () => { db.close(); dbPromise = null }
        resolve(db)
      }
      req.onerror = () => reject(req.error)
    })
    dbPromise.catch(() => { dbPromise = null })
  }
  return dbPromise
}

// queue runs one request on the store and resolves with its result once
// the transaction has committed.
function queue (mode, work) {
  return openDB().then((db) => new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode)
    const req = work(t.objectStore(STORE))
    t.oncomplete = () => resolve(req ? req.result : undefined)
    t.onerror = () => reject(t.error)
    t.onabort = () => reject(t.error)
  }))
}

// seal encrypts an entry ({action, body, files: [{field, file}]}) for the
// queue. Each piece has an IV of its own, and additional data that binds it
// to the entry (its id) and a file to its place in it (fileAad), so no
// piece can be moved to another entry or another place.
async function seal (id, entry) {
  const key = await deviceKey()
  const files = entry.files || []
  const plain = { action: entry.action, body: entry.body, files: files.map((f) => ({ field: f.field, name: f.file.name, type: f.file.type })) }
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(id) },
    key, encoder.encode(JSON.stringify(plain)))
  const sealed = { id, iv, data, at: Date.now() }
  if (files.length > 0) sealed.files = await Promise.all(files.map((f, i) => sealFile(key, fileAad(id, i), f.file)))
  return sealed
}

function fileAad (id, index) {
  return id + '/file/' + index
}

async function sealFile (key, aad, file) {
  const kept = sealedFiles.get(file)
  if (kept && kept.key === key && kept.aad === aad) return kept.sealed
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(aad) }, key, await file.arrayBuffer())
  const sealed = { iv, data }
  sealedFiles.set(file, { key, aad, sealed })
  return sealed
}

// unseal is seal undone: the entry with its files as File objects again.
// Any piece that does not open (another session's key, a piece moved)
// makes the whole entry unreadable.
async function unseal (entry, key) {
  const open = (iv, aad, data) => crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(aad) }, key, data)
  const plain = JSON.parse(new TextDecoder().decode(await open(entry.iv, entry.id, entry.data)))
  const named = plain.files || []
  const kept = entry.files || []
  if (named.length !== kept.length) throw new Error('files do not match')
  plain.files = await Promise.all(named.map(async (f, i) => ({
    field: f.field,
    file: new File([await open(kept[i].iv, fileAad(entry.id, i), kept[i].data)], f.name, { type: f.type })
  })))
  return plain
}

// entryOf is what the browser would have sent: the form's fields and the
// button pressed, URL-encoded in the form's order (_csrf and _idem first),
// and the files chosen, each under its input's name (an input left empty
// holds no file).
function entryOf (form, submitter) {
  let data
  try {
    data = new FormData(form, submitter || null)
  } catch (e) {
    data = new FormData(form)
    if (submitter && submitter.name) data.append(submitter.name, submitter.value)
  }
  const words = new URLSearchParams()
  const files = []
  data.forEach((value, name) => {
    if (typeof value === 'string') words.append(name, value)
    else if (value.name) files.push({ field: name, file: value })
  })
  return { action: actionOf(form), body: words.toString(), files }
}

// post sends an entry, its tokens in headers too (the CSRF token, and the
// idempotency key, which makes a second try answer as the first): words
// alone URL-encoded by fetch; with files, multipart by upload, the words
// first. Either resolves to what lead reads, form (if any) showing the
// upload's progress.
function post (entry, form) {
  const words = new URLSearchParams(entry.body)
  const headers = {
    'X-CSRF-Token': words.get('_csrf') || '',
    'Idempotency-Key': words.get('_idem') || '',
    'HX-Request': 'true',
    'HX-Boosted': 'true'
  }
  const files = entry.files || []
  if (files.length === 0) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded'
    return fetch(entry.action, { method: 'POST', credentials: 'same-origin', cache: 'no-store', body: entry.body, headers })
  }
  const body = new FormData()
  words.forEach((value, name) => body.append(name, value))
  files.forEach((f) => body.append(f.field, f.file, f.file.name))
  return upload(entry.action, body, headers, form)
}

// upload posts a multipart body, telling form how far it has gone
// (portal:upload-progress, as htmx's xhr:progress) and letting "Stop
// sending" abort it (portal:upload-cancel). Like fetch, it rejects with a
// TypeError on a network failure; an AbortError when stopped.
function upload (url, body, headers, form) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', url)
    Object.keys(headers).forEach((name) => xhr.setRequestHeader(name, headers[name]))
    if (form) {
      const progress = (e) => form.dispatchEvent(new CustomEvent('portal:upload-progress', {
        bubbles: true,
        detail: { lengthComputable: e.lengthComputable, loaded: e.loaded, total: e.total }
      }))
      xhr.upload.addEventListener('loadstart', progress)
      xhr.upload.addEventListener('progress', progress)
      uploads.set(form, xhr)
      xhr.addEventListener('loadend', () => uploads.delete(form))
    }
    xhr.onload = () => resolve(answer(xhr, url))
    xhr.onerror = () => reject(new TypeError('upload failed'))
    xhr.onabort = () => reject(new DOMException('upload stopped', 'AbortError'))
    xhr.send(body)
  })
}

// answer is an XMLHttpRequest's answer as lead reads a fetch Response. It
// follows a redirect as fetch does; a final URL other than the one posted
// to says it did.
function answer (xhr, url) {
  const final = xhr.responseURL || url
  return {
    status: xhr.status,
    headers: { get: (name) => xhr.getResponseHeader(name) },
    redirected: final !== url,
    url: final,
    text: () => Promise.resolve(xhr.responseText)
  }
}

// say shows text in #flash (app.js draws it; kind "info" is no error) and
// moves there, so a person who pressed Send at the foot of a phone's
// screen sees it.
function say (text, kind) {
  if (text) window.dispatchEvent(new CustomEvent('portal:flash', { detail: { text, kind, focus: true } }))
}

function flashText (name) {
  const flash = document.getElementById('flash')
  return flash ? flash.getAttribute(name) || '' : ''
}

// lead goes where an answer leads, or shows it here; false for an answer
// of a service that failed (5xx), which a later try may get past.
async function lead (res) {
  const to = res.headers.get('HX-Redirect')
  if (to && /^\/(?!\/)/.test(to)) {
    go(to)
    return true
  }
  if (res.redirected && new URL(res.url).origin === window.location.origin) {
    go(res.url)
    return true
  }
  if (res.status >= 500) return false
  show(await res.text())
  return true
}

// go loads the page at to. A reply leads back to its own thread (#latest):
// a change of fragment alone would load nothing, so the page reloads.
function go (to) {
  const next = new URL(to, window.location.href)
  if (next.pathname + next.search !== window.location.pathname + window.location.search) {
    window.location.assign(next.href)
    return
  }
  window.history.replaceState(null, '', next.href)
  window.location.reload()
}

// show puts the main content of a whole page (the answer) in place of this
// page's, through htmx, which starts its forms and components.
function show (page) {
  const doc = new DOMParser().parseFromString(page, 'text/html')
  const fresh = doc.getElementById('main-content')
  const main = document.getElementById('main-content')
  if (!fresh || !main) return
  if (doc.title) document.title = doc.title
  if (window.htmx && window.htmx.swap) {
    window.htmx.swap(main, fresh.outerHTML, { swapStyle: 'outerHTML' })
  } else {
    main.replaceWith(document.importNode(fresh, true))
  }
  window.scrollTo(0, 0)
}

// actionOf is where form posts. Not form.action: a field named "action"
// (the new message's Send button) hides that property.
function actionOf (form) {
  return new URL(form.getAttribute('action') || '', document.baseURI).href
}

// send posts a form; a network failure keeps it on the device. A send
// stopped ("Stop sending") keeps nothing: app.js has said so.
async function send (form, submitter) {
  const entry = entryOf(form, submitter)
  if (!navigator.onLine) return keep(form, entry)
  form.setAttribute('data-offline-sending', '')
  let res = null
  let stopped = false
  try {
    res = await post(entry, form)
  } catch (e) {
    stopped = e.name === 'AbortError'
  }
  form.removeAttribute('data-offline-sending')
  if (stopped) return
  if (!res) {
    uploadEnded(form)
    return keep(form, entry)
  }
  if (res.status === 503 && res.headers.get('X-Portal-Retry') === 'safe') {
    // The service is having a problem (its database or file store is
    // down) and says nothing was done: kept, and sent again when it is
    // back, as without signal. (A 503 without that word may follow a
    // commit: the words stay on the page, as for any 5xx.)
    uploadEnded(form)
    return keep(form, entry, flashText('data-down'))
  }
  if (!(await lead(res))) {
    uploadEnded(form)
    form.removeAttribute('data-submitting') // its drafts save again (app.js)
    say(flashText('data-failed'))
  }
}

// uploadEnded tells app.js that the form's upload ended with the page
// still here, to hide its progress.
function uploadEnded (form) {
  form.dispatchEvent(new CustomEvent('portal:upload-end', { bubbles: true }))
}

// keep puts the form's fields and files in the queue and says so (why, or
// that there is no signal); without
// a key or storage (or room for the files) it says that the service could
// not be reached (the words and files are still in the form).
async function keep (form, entry, why) {
  const id = new URLSearchParams(entry.body).get('_idem')
  try {
    const sealed = await seal(id, entry)
    await queue('readwrite', (s) => s.put(sealed))
  } catch (e) {
    form.removeAttribute('data-submitting')
    say(flashText('data-offline'))
    return
  }
  form.setAttribute('data-offline-queued', '')
  say(why || form.getAttribute('data-offline') || flashText('data-queued'), 'info')
  if (navigator.onLine) retryLater()
}

// Words typed (or files chosen) in a form that waits replace what waits,
// in order; files already sealed are not sealed again.
function requeue (form) {
  const entry = entryOf(form, submitters.get(form))
  const id = new URLSearchParams(entry.body).get('_idem')
  requeued = requeued.then(() => seal(id, entry)).then((sealed) => {
    if (!leaving) return queue('readwrite', (s) => s.put(sealed))
  }).catch(() => {})
}

// flush sends what waits, oldest first, one tab at a time. Each entry
// leaves the queue on an HTTP answer; the page then goes where the last
// success leads, or shows the first refusal and leaves the rest for later.
async function flush () {
  if (flushing || leaving || !navigator.onLine) return
  flushing = true
  try {
    if (navigator.locks) await navigator.locks.request(LOCK, sendWaiting)
    else await sendWaiting()
  } catch (e) {
    retryLater()
  } finally {
    flushing = false
  }
}

async function sendWaiting () {
  await requeued // words typed just before the signal came back
  const waiting = (await queue('readonly', (s) => s.getAll())).sort((a, b) => a.at - b.at)
  if (waiting.length === 0) return
  const key = await deviceKey()
  let last = null
  for (const entry of waiting) {
    let plain
    try {
      plain = await unseal(entry, key)
    } catch (e) {
      await queue('readwrite', (s) => s.delete(entry.id)) // another session's: unreadable
      continue
    }
    if (leaving) return
    const res = await post(plain) // a network failure throws: retried later
    if (res.status >= 500) return retryLater()
    await queue('readwrite', (s) => s.delete(entry.id))
    if (!res.headers.get('HX-Redirect') && !res.redirected) return lead(res)
    last = res
  }
  if (last) await lead(last)
}

// retryLater tries again after a while, longer each time, for a browser
// that believes it is online but cannot reach the service.
function retryLater () {
  if (retryTimer || leaving) return
  retryTimer = window.setTimeout(() => {
    retryTimer = 0
    retryMs = Math.min(retryMs * 2, RETRY_MOST_MS)
    flush()
  }, retryMs)
}

// wipe empties the queue and forgets the key: the session is ending here.
function wipe () {
  leaving = true
  keyPromise = null
  window.clearTimeout(retryTimer)
  return queue('readwrite', (s) => s.clear())
}

function start () {
  document.addEventListener('submit', (event) => {
    const form = event.target
    // app.js may hold the submit back until an autosave on its way is done.
    if (event.defaultPrevented || leaving || !form.matches || !form.matches('form[data-offline]')) return
    if (!form.querySelector('input[name="_idem"]')) return
    event.preventDefault()
    if (form.hasAttribute('data-offline-sending')) return
    submitters.set(form, event.submitter)
    send(form, event.submitter)
  })
  document.addEventListener('input', (event) => {
    const form = event.target.closest && event.target.closest('form[data-offline-queued]')
    if (form) requeue(form)
  })
  window.addEventListener('online', () => {
    retryMs = RETRY_FIRST_MS
    flush()
  })
  window.addEventListener('portal:leaving', (event) => { event.detail.waitUntil(wipe()) })
  document.addEventListener('portal:upload-cancel', (event) => {
    const xhr = uploads.get(event.target)
    if (xhr) xhr.abort()
  })
  // A page with a form to keep has its key before the signal goes.
  if (document.querySelector('form[data-offline]')) deviceKey().catch(() => {})
  queue('readonly', (s) => s.count()).then((n) => {
    if (n === 0) return
    if (navigator.onLine) flush()
    else say(flashText('data-queued'), 'info')
  }, () => {})
}

if (keyMeta && window.indexedDB && window.crypto && window.crypto.subtle) start()
