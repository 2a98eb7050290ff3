/* The street tree map (Leaflet): asks the server for clusters or single trees of the visible box and zoom
   (/stadt/<city>/baeume/karte.json), so it stays smooth with 100 000+ trees. Without JavaScript (or when
   Leaflet did not load) the SVG map and the list below carry the same content. */
(function () {
  "use strict";
  var box = document.getElementById("tree-map");
  if (!box || typeof window.L === "undefined" || !window.fetch) { return; }
  var L = window.L;
  var colours = { good: "#1e6b34", moderate: "#e0a100", critical: "#b3261e" };
  var staticMap = document.querySelector(".tree-map-static");
  box.hidden = false;
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", box.dataset.label || "");
  if (staticMap) { staticMap.setAttribute("hidden", ""); }

  var map = L.map(box, { preferCanvas: true, zoomControl: true, attributionControl: false });
  var layer = L.layerGroup().addTo(map);
  var tiles = box.dataset.tiles;
  if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); }
  var pending = null;
  var serial = 0;

  function query() {
    var b = map.getBounds();
    var params = new URLSearchParams(box.dataset.filters || "");
    params.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
      return Math.max(-180, Math.min(180, v)).toFixed(6);
    }).join(","));
    params.set("zoom", String(map.getZoom()));
    return box.dataset.url + "?" + params.toString();
  }

  function draw(data) {
    layer.clearLayers();
    (data.clusters || []).forEach(function (c) {
      var radius = c.count === 1 ? 6 : 8 + Math.min(16, 2 * Math.log2(c.count));
      var mark = L.circleMarker([c.lat, c.lon], {
        radius: radius, color: "#1b1f24", weight: 1, fillColor: colours[c.level] || "#fff", fillOpacity: 0.85
      });
      var text = c.count + " " + (box.dataset.trees || "");
      if (c.critical) { text += ", " + c.critical + " " + (box.dataset.critical || ""); }
      mark.bindTooltip(text);
      mark.on("click", function () { map.setView([c.lat, c.lon], Math.min(map.getZoom() + 2, 19)); });
      layer.addLayer(mark);
    });
    (data.trees || []).forEach(function (t) {
      var mark = L.circleMarker([t.lat, t.lon], {
        radius: 6, color: "#1b1f24", weight: 1, fillColor: colours[t.level] || "#fff", fillOpacity: 0.9
      });
      var link = document.createElement("a");
      link.href = t.url;
      link.textContent = t.name;
      mark.bindPopup(link);
      layer.addLayer(mark);
    });
    box.dataset.loaded = String(++serial);
  }

  function load() {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(query(), { signal: pending.signal, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { clusters: [], trees: [] }; })
      .then(draw)
      .catch(function () { /* aborted by a newer view, or offline: the list still works */ });
  }

  map.on("moveend", load);
  // First view: the extent of the trees the server drew into the SVG map (its data attributes), else Germany.
  var west = parseFloat(box.dataset.west), south = parseFloat(box.dataset.south);
  var east = parseFloat(box.dataset.east), north = parseFloat(box.dataset.north);
  if (isFinite(west) && isFinite(south) && isFinite(east) && isFinite(north)) {
    map.fitBounds([[south, west], [north, east]], { padding: [16, 16], maxZoom: 17 });
  } else {
    map.setView([51.0, 10.0], 6);
  }
  // The page brings the whole city's clusters along: draw them at once, the answer for the view follows.
  var initial = document.getElementById("tree-map-initial");
  if (initial && !box.dataset.loaded) {
    try { draw({ clusters: JSON.parse(initial.textContent) }); } catch (e) { /* the fetch draws instead */ }
  }
}());
