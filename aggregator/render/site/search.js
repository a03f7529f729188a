// The search page: Pagefind's own interface over the static index in pagefind/.
// The page stays usable without this script (a link to the archive is in <noscript>).
// A result's address (its "url" metadata) is relative to the site's root, which is where
// pagefind/ is served from: the site works under any path, on any static host.
window.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("search");
  var bundle = document.querySelector("script[src$='pagefind-ui.js']");
  if (!box || !bundle || typeof PagefindUI === "undefined") return;
  var root = new URL("..", bundle.src);
  // this page's tree, from the site's root: "" for the all-languages tree, else "fr/"
  var tree = new URL(box.dataset.home || "./", window.location.href).pathname
    .slice(root.pathname.length);
  // The index is in shards (one or more per month, listed newest first in shards.json):
  // the newest is the UI's own bundle, the others are merged into it.
  fetch(new URL("shards.json", bundle.src))
    .then(function (response) { return response.json(); })
    .then(function (listing) { start(listing.shards || []); });
  function start(shards) {
    if (!shards.length) return;
    var path = function (shard) { return new URL(shard + "/", bundle.src).pathname; };
    var ui = new PagefindUI({
      element: "#search",
      bundlePath: path(shards[0]),
      mergeIndex: shards.slice(1).map(function (shard) { return { bundlePath: path(shard) }; }),
      processResult: function (result) {
        var meta = result.meta || {};
        // a result in this tree's language opens in this tree; others in the root's
        var where = meta.tree_url && meta.tree_url.indexOf(tree) === 0 && tree ? meta.tree_url
          : meta.url;
        if (where) meta.url = new URL(where, root).href;
        if (meta.source && meta.title) meta.title = meta.title + " — " + meta.source;
        return result;
      },
      showImages: false,
      showSubResults: false,
      resetStyles: false,
    });
    var query = new URLSearchParams(window.location.search).get("q");
    if (box.dataset.language) ui.triggerFilters({ language: [box.dataset.language] });
    if (query) ui.triggerSearch(query);
  }
  // Pagefind's field has no visible label: tie the page's own <label> to it.
  var label = document.getElementById("search-label");
  new MutationObserver(function (changes, observer) {
    var input = box.querySelector("input[type=text], input[type=search], input:not([type])");
    if (!input) return;
    input.id = "search-input";
    if (label) label.hidden = false;
    observer.disconnect();
  }).observe(box, { childList: true, subtree: true });
});
