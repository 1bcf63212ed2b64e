// A moments playlist (/moments, /embed/moments): every moment of a query, one after another
// in one player, with the list beside it. Uses what player.js shares as window.Recall.
(function () {
  "use strict";
  var R = window.Recall, root = document.querySelector("[data-playlist]");
  var media = document.getElementById("player");
  if (!R || !root || !media) { return; }
  var items = Array.prototype.slice.call(root.querySelectorAll(".moment"));
  if (!items.length) { return; }
  var now = root.querySelector(".pl-now"), index = -1, switching = false;
  function load(i, andPlay) {
    if (i < 0 || i >= items.length) { return; }
    var item = items[i], src = item.dataset.src;
    if (index >= 0) { items[index].classList.remove("current"); items[index].removeAttribute("aria-current"); }
    index = i;
    item.classList.add("current"); item.setAttribute("aria-current", "true");
    switching = true;
    if (media.dataset.src !== src) {
      media.dataset.src = src;
      media.src = src;
      if (item.dataset.poster) { media.poster = item.dataset.poster; } else { media.removeAttribute("poster"); }
    }
    // The moment's own captions, at the recording's times.
    Array.prototype.slice.call(media.querySelectorAll("track")).forEach(function (t) { t.remove(); });
    var track = document.createElement("track");
    track.kind = "captions"; track.label = "Captions"; track.srclang = document.documentElement.lang || "en";
    track.src = item.dataset.track; track.default = true;
    media.appendChild(track);
    R.captionsOn(media, media.dataset.captions !== "off");
    var start = parseFloat(item.dataset.start);
    R.seek(media, start, andPlay);
    media.addEventListener("seeked", function () { switching = false; }, { once: true });
    now.textContent = "Moment " + (i + 1) + " of " + items.length + ": " + item.dataset.title + " at " + R.clock(start);
    var list = item.parentElement;
    if (!list.hidden && list.scrollHeight > list.clientHeight) {
      list.scrollTo({ top: item.offsetTop - list.offsetTop, behavior: R.reducedMotion() ? "auto" : "smooth" });
    }
  }
  media.addEventListener("timeupdate", function () {
    if (switching || index < 0) { return; }
    if (media.currentTime >= parseFloat(items[index].dataset.end)) {
      if (index + 1 < items.length) { load(index + 1, true); } else { media.pause(); }
    }
  });
  items.forEach(function (item, i) {
    item.querySelector(".moment-play").addEventListener("click", function () { load(i, true); });
  });
  root.querySelector(".pl-prev").addEventListener("click", function () { load(Math.max(0, index - 1), true); });
  root.querySelector(".pl-next").addEventListener("click", function () { load(Math.min(items.length - 1, index + 1), true); });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () { R.copy(button.dataset.copy, document.querySelector(".copied")); });
  });
  R.spaceToPause(media);
  // Moments come from audio and video recordings alike: one caption line serves both.
  R.captionLine(media, media.parentElement);
  R.playbackControls(media);
  load(0, false);
})();
