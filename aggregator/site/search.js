// The search page: Pagefind's own interface over the static index in pagefind/.
// The page stays usable without this script (a link to the archive is in <noscript>).
// Result addresses start where pagefind/ is served, so the site works under any path.
window.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("search");
  if (!box || typeof PagefindUI === "undefined") return;
  var ui = new PagefindUI({
    element: "#search",
    showImages: false,
    showSubResults: false,
    resetStyles: false,
  });
  // Pagefind's field has no visible label: tie the page's own <label> to it.
  var label = document.getElementById("search-label");
  new MutationObserver(function (changes, observer) {
    var input = box.querySelector("input[type=text], input[type=search], input:not([type])");
    if (!input) return;
    input.id = "search-input";
    if (label) label.hidden = false;
    observer.disconnect();
  }).observe(box, { childList: true, subtree: true });
  var query = new URLSearchParams(window.location.search).get("q");
  if (box.dataset.language) ui.triggerFilters({ language: [box.dataset.language] });
  if (query) ui.triggerSearch(query);
});
