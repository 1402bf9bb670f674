// Sign-in codes (an ES module, loaded with <script type="module">, so it
// runs after the deferred htmx scripts): once all six digits are typed (or
// pasted), send the form, as guide 000 promises ("you'll be automatically
// signed in"). The button stays for anyone without JavaScript.

document.querySelectorAll('input[data-autosubmit]').forEach((input) => {
  const length = parseInt(input.getAttribute('data-autosubmit'), 10)
  let sent = false
  input.addEventListener('input', () => {
    const digits = input.value.replace(/\D/g, '')
    if (digits !== input.value) input.value = digits
    if (!sent && digits.length === length && input.form) {
      sent = true
      input.form.requestSubmit()
    }
  })
})
