// "All N moments in this recording" opens them in place: the link's page (this search, only
// that recording) is fetched and its moments replace the few shown. Without JavaScript the
// link opens that page.
(function () {
  "use strict";
  document.querySelectorAll("a[data-expand]").forEach(function (link) {
    link.addEventListener("click", function (e) {
      if (e.metaKey || e.ctrlKey || e.shiftKey) { return; }
      var section = link.closest(".result");
      if (!section || !window.fetch || !window.DOMParser) { return; }
      e.preventDefault();
      link.setAttribute("aria-busy", "true");
      fetch(link.href, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      }).then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var selector = '.result[data-recording="' + section.dataset.recording + '"] ol.hits';
        var all = page.querySelector(selector);
        var shown = section.querySelector("ol.hits");
        if (!all || !shown) { throw new Error("no moments"); }
        shown.replaceWith(document.importNode(all, true));
        link.parentNode.remove();
      }).catch(function () { window.location.href = link.href; });
    });
  });
})();
