// Children's Services Online: passkeys (an ES module, loaded with
// <script type="module"> on the pages that offer one).
//
// A form marked data-passkey="create" (Add a passkey) or "get" (sign in,
// or confirm it is you, with a passkey) stays hidden unless this browser
// can use passkeys. On submit the script asks the server for options
// (POST data-options, with the form's CSRF token), has the browser make
// or use a passkey, puts the answer as JSON in the form's hidden field
// (credential or assertion) and submits the form as usual: every answer
// after that is a page. If the person cancels, or the browser refuses,
// the form says so with its data-error text (no English here).

function fromB64url (s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)
  const bin = atob(b64)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out.buffer
}

function toB64url (buf) {
  const bytes = new Uint8Array(buf)
  let bin = ''
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i])
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

// creationOptions turns the server's JSON into what credentials.create takes.
function creationOptions (o) {
  o.challenge = fromB64url(o.challenge)
  o.user.id = fromB64url(o.user.id)
  o.excludeCredentials = (o.excludeCredentials || []).map((c) => ({ ...c, id: fromB64url(c.id) }))
  return o
}

function requestOptions (o) {
  o.challenge = fromB64url(o.challenge)
  o.allowCredentials = (o.allowCredentials || []).map((c) => ({ ...c, id: fromB64url(c.id) }))
  return o
}

// answer is a credential as JSON, the server's library reads it, with
// response the ceremony's own part.
function answer (cred, response) {
  return {
    id: cred.id,
    rawId: toB64url(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    response: { ...response, clientDataJSON: toB64url(cred.response.clientDataJSON) }
  }
}

function created (cred) {
  const r = cred.response
  return answer(cred, {
    attestationObject: toB64url(r.attestationObject),
    transports: r.getTransports ? r.getTransports() : []
  })
}

function asserted (cred) {
  const r = cred.response
  return answer(cred, {
    authenticatorData: toB64url(r.authenticatorData),
    signature: toB64url(r.signature),
    userHandle: r.userHandle ? toB64url(r.userHandle) : undefined
  })
}

function showError (form) {
  const el = form.querySelector('[data-passkey-error]')
  if (!el) return
  el.textContent = form.getAttribute('data-error') || ''
  el.hidden = false
}

async function ceremony (form) {
  const token = form.querySelector('input[name="_csrf"]')
  const res = await fetch(form.getAttribute('data-options'), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-CSRF-Token': token ? token.value : '', Accept: 'application/json' }
  })
  if (!res.ok) throw new Error('options ' + res.status)
  const options = await res.json()
  if (form.getAttribute('data-passkey') === 'create') {
    const cred = await navigator.credentials.create({ publicKey: creationOptions(options) })
    form.elements.credential.value = JSON.stringify(created(cred))
  } else {
    const cred = await navigator.credentials.get({ publicKey: requestOptions(options) })
    form.elements.assertion.value = JSON.stringify(asserted(cred))
  }
  form.submit()
}

if (window.PublicKeyCredential) {
  for (const note of document.querySelectorAll('[data-passkey-unsupported]')) note.hidden = true
  for (const form of document.querySelectorAll('form[data-passkey]')) {
    form.hidden = false
    let busy = false
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      // A name left empty goes to the server as it is, which says what
      // is missing; no passkey is made for a form that will be refused.
      const name = form.elements.name
      if (name && !name.value.trim()) {
        form.submit()
        return
      }
      if (busy) return
      busy = true
      ceremony(form).catch(() => {
        busy = false
        showError(form)
      })
    })
  }
}
