// Children's Services Online: the service worker. app/pages serves it at
// /sw.js (so that its scope is the whole site) after two constants: CACHE,
// the cache's name, which changes whenever any static file does, and
// OFFLINE, the offline page's path.
//
// It keeps two kinds of thing, and nothing else:
// - the fingerprinted static files (/static/name.<10 hex digits>.ext):
//   one never changes under its name, so it comes from the cache first;
// - the offline page, a visitor's page fetched without cookies (so it
//   holds nothing of whoever is signed in), in the language of the last
//   page the browser showed (app.js tells it), with the files it links.
// Every page goes to the network; only when the network fails does a page
// get the offline page instead of the browser's error. Everything else
// (a form's answer, JSON, a live stream, a download) passes by untouched:
// no personal page and no answer of the service is ever kept.
//
// A classic worker script, not a module: every browser with service
// workers runs it. No English or Welsh here: the offline page has the words.

const FINGERPRINTED = /^\/static\/[^?#]+\.[0-9a-f]{10}\.[a-z0-9]+$/
const LINKED = /(?:href|src)="(\/static\/[^"]+)"/g

self.addEventListener('install', (event) => {
  event.waitUntil(keepOffline('').then(() => self.skipWaiting()))
})

self.addEventListener('activate', (event) => {
  event.waitUntil(activate())
})

// activate drops the caches of older versions, lets pages' own requests
// start while the worker wakes (navigation preload) and takes the open
// pages over.
async function activate () {
  const names = await caches.keys()
  await Promise.all(names.filter((name) => name.startsWith('portal-') && name !== CACHE).map((name) => caches.delete(name)))
  if (self.registration.navigationPreload) await self.registration.navigationPreload.enable()
  await self.clients.claim()
}

// keepOffline fetches the offline page in lang ('' leaves the choice to
// the browser's languages), without cookies, and keeps it with the static
// files it links.
async function keepOffline (lang) {
  const res = await fetch(lang ? OFFLINE + '?lang=' + encodeURIComponent(lang) : OFFLINE, { credentials: 'omit', cache: 'no-store' })
  if (!res.ok) throw new Error('offline page: ' + res.status)
  const page = await res.clone().text()
  const files = Array.from(page.matchAll(LINKED), (m) => m[1]).filter((path) => FINGERPRINTED.test(path))
  const cache = await caches.open(CACHE)
  await cache.addAll(files)
  await cache.put(OFFLINE, res)
}

// A page of the portal tells the worker its language: the offline page
// follows it (fetched again only when it changes).
self.addEventListener('message', (event) => {
  const lang = event.data && event.data.lang
  if (typeof lang === 'string' && /^[a-z]{2}$/.test(lang)) event.waitUntil(follow(lang))
})

async function follow (lang) {
  const kept = await caches.match(OFFLINE, { cacheName: CACHE, ignoreVary: true })
  if (!kept || kept.headers.get('Content-Language') !== lang) await keepOffline(lang)
}

self.addEventListener('fetch', (event) => {
  const req = event.request
  if (req.method !== 'GET') return
  const url = new URL(req.url)
  if (url.origin !== self.location.origin) return
  if (req.mode === 'navigate') {
    event.respondWith(navigate(event))
  } else if (FINGERPRINTED.test(url.pathname) && !url.search) {
    event.respondWith(staticFile(event))
  }
})

// navigate answers a page from the network, as if there were no worker;
// the offline page only when the network fails. Nothing is kept.
async function navigate (event) {
  try {
    return (await event.preloadResponse) || (await fetch(event.request))
  } catch (err) {
    const page = await caches.match(OFFLINE, { cacheName: CACHE, ignoreVary: true })
    if (page) return page
    throw err
  }
}

// staticFile answers a fingerprinted file from the cache, else from the
// network, keeping it.
async function staticFile (event) {
  const cache = await caches.open(CACHE)
  const hit = await cache.match(event.request, { ignoreVary: true })
  if (hit) return hit
  const res = await fetch(event.request)
  if (res.ok) event.waitUntil(cache.put(event.request, res.clone()))
  return res
}
