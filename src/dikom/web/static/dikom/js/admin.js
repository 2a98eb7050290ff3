// Corrections of Django admin markup that is built by the admin's own scripts (platform administration only).
//
// The two-list permission picker (SelectFilter2.js) puts an aria-label on a plain <span> (the magnifier
// icon in the filter's label); ARIA does not allow a name on an element without a role, so the icon is
// given the role it plays: an image named by that label.
(function () {
  "use strict";
  const ICON = "span.search-label-icon[aria-label]:not([role])";
  const fix = (node) => {
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    if (node.matches(ICON)) node.setAttribute("role", "img");
    for (const icon of node.querySelectorAll(ICON)) icon.setAttribute("role", "img");
  };
  new MutationObserver((records) => {
    for (const record of records) record.addedNodes.forEach(fix);
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
