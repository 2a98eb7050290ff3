/*
 * Live preview for the field editor (progressive enhancement).
 *
 * Without JavaScript the preview next to the editor shows the saved state and
 * refreshes on save. With it, every change in the field form is POSTed to the
 * preview endpoint (which stores nothing) and the returned HTML fragment
 * replaces the preview. No inline scripts: CSP script-src 'self'.
 */
(function () {
  "use strict";
  var form = document.getElementById("field-form");
  var preview = document.getElementById("preview");
  if (!form || !preview || !window.fetch || !window.FormData) {
    return;
  }
  var url = form.getAttribute("data-preview-url");
  var locator = form.getAttribute("data-preview-locator");
  var language = new URLSearchParams(window.location.search).get("sprache");
  if (language) {
    url += "?sprache=" + encodeURIComponent(language);
  }
  var timer = null;
  var pending = null;

  function refresh() {
    var data = new FormData(form);
    data.append("locator", locator);
    if (pending) {
      pending.abort();
    }
    pending = window.AbortController ? new AbortController() : null;
    fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
      signal: pending ? pending.signal : undefined
    })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null) {
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("#preview-step");
          var current = preview.querySelector("#preview-step");
          if (fresh && current) {
            current.replaceWith(fresh);
          }
        }
      })
      .catch(function () { /* keep the last preview */ });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
