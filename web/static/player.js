// Recall's player: follows the transcript, seeks on click, plays clips, inline search hits.
// Everything here is an enhancement: every link works without JavaScript.
(function () {
  "use strict";

  function seek(media, seconds, andPlay) {
    var go = function () {
      media.currentTime = seconds;
      if (andPlay) { media.play().catch(function () {}); }
    };
    if (media.readyState >= 1) { go(); } else { media.addEventListener("loadedmetadata", go, { once: true }); }
  }

  function copy(text, status) {
    var done = function () { if (status) { status.textContent = "Copied"; setTimeout(function () { status.textContent = ""; }, 2000); } };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else { fallbackCopy(text); done(); }
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "absolute"; area.style.left = "-9999px";
    document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(area);
  }

  function reducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function num(value) { return value === "" || value === undefined ? null : parseFloat(value); }

  // Space toggles play/pause anywhere but in a field or on a button.
  function spaceToPause(media) {
    document.addEventListener("keydown", function (e) {
      var tag = (e.target && e.target.tagName) || "";
      if (e.key !== " " || /INPUT|TEXTAREA|SELECT|BUTTON|VIDEO|AUDIO/.test(tag)) { return; }
      e.preventDefault();
      if (media.paused) { media.play().catch(function () {}); } else { media.pause(); }
    });
  }

  function recordingPage(article) {
    var media = document.getElementById("player");
    if (!media) { return; }
    var start = num(article.dataset.start), end = num(article.dataset.end), at = num(article.dataset.t);
    var cues = Array.prototype.slice.call(document.querySelectorAll(".cue"));
    var pane = document.querySelector(".cues");
    var current = null;
    var replay = document.getElementById("replay");

    seek(media, at !== null ? at : (start !== null ? start : 0), false);

    function follow() {
      var t = media.currentTime;
      if (end !== null && t >= end) {
        media.pause();
        if (t > end + 0.25) { media.currentTime = end; }
        if (replay) { replay.hidden = false; }
      }
      if (end !== null) { t = Math.min(t, end - 0.01); }
      // The sentence holding t (the later one where two overlap), else, in a pause between
      // sentences or before the first, the one that follows.
      var found = null, next = null;
      for (var i = 0; i < cues.length; i++) {
        var cs = parseFloat(cues[i].dataset.start);
        if (cs <= t + 0.05 && t < parseFloat(cues[i].dataset.end)) { found = cues[i]; }
        if (next === null && cs > t) { next = cues[i]; }
      }
      if (!found) { found = next; }
      if (found !== current) {
        if (current) { current.classList.remove("current"); current.removeAttribute("aria-current"); }
        if (found) {
          found.classList.add("current"); found.setAttribute("aria-current", "true");
          if (pane) {
            var top = found.offsetTop - pane.offsetTop, bottom = top + found.offsetHeight;
            if (top < pane.scrollTop || bottom > pane.scrollTop + pane.clientHeight) {
              pane.scrollTo({ top: top - pane.clientHeight / 3, behavior: reducedMotion() ? "auto" : "smooth" });
            }
          }
        }
        current = found;
      }
    }
    media.addEventListener("timeupdate", follow);
    media.addEventListener("seeked", follow);

    // Playing on past a clip's end starts it again; seeking before its start is allowed.
    media.addEventListener("play", function () {
      if (end !== null && media.currentTime >= end - 0.05) { media.currentTime = start || 0; }
    });

    cues.forEach(function (cue) {
      cue.addEventListener("click", function (e) {
        e.preventDefault();
        seek(media, parseFloat(cue.dataset.start), true);
      });
    });

    var filter = document.getElementById("filter");
    if (filter) {
      filter.addEventListener("input", function () {
        var words = filter.value.toLowerCase().trim();
        cues.forEach(function (cue) {
          cue.parentElement.hidden = words !== "" && cue.textContent.toLowerCase().indexOf(words) < 0;
        });
      });
    }

    if (replay) { replay.addEventListener("click", function () { seek(media, start || 0, true); }); }

    var status = document.querySelector(".copied");
    var share = document.getElementById("share");
    if (share) {
      share.addEventListener("click", function () {
        var url = location.origin + location.pathname + "?t=" + Math.floor(media.currentTime);
        copy(url, status);
      });
    }
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () { copy(button.dataset.copy, status); });
    });
    spaceToPause(media);
    if (article.classList.contains("embedded")) { clipControls(media, start, end, article); }
  }

  function searchPage() {
    var active = null;
    document.querySelectorAll(".result").forEach(function (section) {
      section.querySelectorAll(".hit-play").forEach(function (link) {
        link.addEventListener("click", function (e) {
          if (e.metaKey || e.ctrlKey || e.shiftKey) { return; }  // a new tab keeps the plain link
          e.preventDefault();
          var holder = section.querySelector(".inline-player");
          var media = holder.querySelector("video");
          if (!media) {
            media = document.createElement("video");
            media.controls = true; media.preload = "metadata"; media.setAttribute("playsinline", "");
            if (section.dataset.poster) { media.poster = section.dataset.poster; }
            media.src = section.dataset.src;
            holder.appendChild(media);
            holder.hidden = false;
            if (section.dataset.video === "0") { holder.classList.add("audio"); }
          }
          document.querySelectorAll("video").forEach(function (other) { if (other !== media) { other.pause(); } });
          if (active) { active.classList.remove("playing"); }
          link.classList.add("playing"); active = link;
          seek(media, parseFloat(link.dataset.start), true);
        });
      });
    });
    var first = document.querySelector(".hit-play");
    if (first) {
      document.addEventListener("keydown", function (e) {
        var tag = (e.target && e.target.tagName) || "";
        if (e.key !== " " || /INPUT|TEXTAREA|SELECT|BUTTON|VIDEO/.test(tag)) { return; }
        var playing = document.querySelector(".inline-player video");
        if (!playing) { return; }
        e.preventDefault();
        if (playing.paused) { playing.play().catch(function () {}); } else { playing.pause(); }
      });
    }
  }

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    var ss = ("0" + (s % 60)).slice(-2);
    return h ? h + ":" + ("0" + m).slice(-2) + ":" + ss : m + ":" + ss;
  }

  // Captions sit this many lines up from the bottom, above a control bar drawn over the
  // picture (an audio recording's small player, an embedded clip's own controls).
  function liftCaptions(media, lines) {
    var track = media.textTracks && media.textTracks[0];
    if (!track) { return; }
    var lift = function () {
      Array.prototype.forEach.call(track.cues || [], function (cue) { cue.snapToLines = true; cue.line = -lines; });
    };
    var element = media.querySelector("track");
    if (element) { element.addEventListener("load", lift); }
    lift();
  }

  // An embedded clip's own controls: the timeline is the clip alone, every control named.
  function clipControls(media, start, end, root) {
    var bar = root.querySelector(".clip-controls");
    if (!bar || end === null) { return; }
    var length = end - (start || 0);
    var play = bar.querySelector(".cc-play"), seekBar = bar.querySelector(".cc-seek"), time = bar.querySelector(".cc-time");
    var captions = bar.querySelector(".cc-captions"), mute = bar.querySelector(".cc-mute"), full = bar.querySelector(".cc-full");
    media.controls = false; bar.hidden = false;
    function toggle() { if (media.paused) { media.play().catch(function () {}); } else { media.pause(); } }
    function show() {
      var into = Math.min(Math.max(0, media.currentTime - (start || 0)), length);
      seekBar.value = into.toFixed(1);
      seekBar.setAttribute("aria-valuetext", clock(into) + " of " + clock(length));
      time.textContent = clock(into) + " / " + clock(length);
      play.setAttribute("aria-label", media.paused ? "Play" : "Pause");
      play.textContent = media.paused ? "▶" : "❚❚";
      root.classList.toggle("playing", !media.paused);
    }
    ["timeupdate", "play", "pause", "seeked", "loadedmetadata"].forEach(function (name) { media.addEventListener(name, show); });
    play.addEventListener("click", toggle);
    media.addEventListener("click", toggle);
    seekBar.addEventListener("input", function () { media.currentTime = (start || 0) + parseFloat(seekBar.value); });
    captions.addEventListener("click", function () {
      var track = media.textTracks[0], on = captions.getAttribute("aria-pressed") !== "true";
      if (track) { track.mode = on ? "showing" : "hidden"; }
      captions.setAttribute("aria-pressed", on ? "true" : "false");
    });
    mute.addEventListener("click", function () {
      media.muted = !media.muted;
      mute.setAttribute("aria-pressed", media.muted ? "true" : "false");
    });
    full.addEventListener("click", function () {
      if (document.fullscreenElement) { document.exitFullscreen(); } else if (root.requestFullscreen) { root.requestFullscreen().catch(function () {}); }
    });
    show();
  }

  var article = document.querySelector("article.recording, main.recording");
  if (article) { recordingPage(article); } else { searchPage(); }
})();
