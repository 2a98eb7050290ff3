/*! dikom usage analytics collector (EUPL-1.2). No cookies, no browser storage. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-site][src*='collect']");
  if (!script || window.dikomAnalytics) return;
  var data = script.dataset;
  var site = data.site;
  var endpoint = data.endpoint || new URL(script.src, location.href).origin + "/api/v1/analytics/collect/" + site;

  function randomId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  // Kept in memory only: without data-visit-id a visit lasts as long as the page.
  var visitId = data.visitId || randomId();

  function deviceClass() {
    var coarse = window.matchMedia && matchMedia("(pointer: coarse)").matches;
    if (!coarse) return "desktop";
    return Math.min(screen.width, screen.height) < 600 ? "mobile" : "tablet";
  }

  function send(body) {
    var text = JSON.stringify(body);
    // text/plain is a CORS-safelisted type: no preflight request is needed.
    var blob = new Blob([text], { type: "text/plain" });
    if (navigator.sendBeacon && navigator.sendBeacon(endpoint, blob)) return Promise.resolve(true);
    return fetch(endpoint, {
      method: "POST",
      body: text,
      headers: { "Content-Type": "text/plain" },
      keepalive: true,
      credentials: "omit",
      mode: "cors"
    }).then(function (r) { return r.ok; }, function () { return false; });
  }

  function track(type, fields) {
    var event = {
      type: type,
      service: data.service,
      occurred_at: new Date().toISOString(),
      event_id: randomId(),
      visit_id: visitId,
      device_class: deviceClass()
    };
    if (data.channel) event.channel = data.channel;
    if (fields) Object.keys(fields).forEach(function (k) { event[k] = fields[k]; });
    if (!event.service || !site) return Promise.resolve(false);
    return send(event);
  }

  window.dikomAnalytics = { track: track, visitId: visitId };

  // Declarative events, no code needed: an element with data-dikom-event sends that event
  // when clicked (a form: when submitted), with data-dikom-step, -step-position,
  // -auth-method, -payment-method and -rating as its fields.
  var FIELDS = { dikomStep: "step_key", dikomAuthMethod: "auth_method", dikomPaymentMethod: "payment_method" };
  var NUMBERS = { dikomStepPosition: "step_position", dikomRating: "rating" };
  function declared(element) {
    var d = element.dataset;
    var fields = {};
    Object.keys(FIELDS).forEach(function (k) { if (d[k]) fields[FIELDS[k]] = d[k]; });
    Object.keys(NUMBERS).forEach(function (k) {
      var n = parseInt(d[k], 10);
      if (n > 0) fields[NUMBERS[k]] = n;
    });
    track(d.dikomEvent, fields);
  }
  document.addEventListener("click", function (e) {
    var element = e.target && e.target.closest && e.target.closest("[data-dikom-event]");
    if (element && element.tagName !== "FORM") declared(element);
  }, true);
  document.addEventListener("submit", function (e) {
    if (e.target && e.target.dataset && e.target.dataset.dikomEvent) declared(e.target);
  }, true);

  if (data.step) {
    var step = { step_key: data.step };
    var position = parseInt(data.stepPosition, 10);
    if (position > 0) step.step_position = position;
    track("step_viewed", step);
  }
})();
