// Maps of GeoJSON and point distributions on the dataset page (Leaflet, vendored; no tiles from elsewhere).
// The page works without this script: the list under each map names the same places.
(function () {
  "use strict";
  function text(properties) {
    var box = document.createElement("div");
    Object.keys(properties || {}).slice(0, 8).forEach(function (key) {
      var line = document.createElement("div");
      line.textContent = key + ": " + properties[key]; // text, never HTML
      box.appendChild(line);
    });
    return box;
  }
  function show(element) {
    var source = document.getElementById(element.getAttribute("data-geojson"));
    if (!source || typeof L === "undefined") {
      return;
    }
    var data;
    try {
      data = JSON.parse(source.textContent);
    } catch (error) {
      return;
    }
    element.hidden = false;
    var map = L.map(element, { attributionControl: false, scrollWheelZoom: false });
    var layer = L.geoJSON(data, {
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, { radius: 6, weight: 2, className: "opendata-map__point" });
      },
      onEachFeature: function (feature, item) {
        if (feature.properties && Object.keys(feature.properties).length) {
          item.bindPopup(text(feature.properties));
        }
      },
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
    } else {
      map.setView([51, 10], 5);
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".opendata-map[data-geojson]").forEach(show);
  });
})();
