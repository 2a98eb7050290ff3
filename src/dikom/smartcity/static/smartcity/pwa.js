/* Registers the city's service worker (offline shell). The pages work without it. */
(function () {
  "use strict";
  var link = document.querySelector("link[data-service-worker]");
  if (!link || !("serviceWorker" in navigator)) { return; }
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(link.dataset.serviceWorker, { scope: link.dataset.scope }).catch(function () {});
  });
}());
