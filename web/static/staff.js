// Recall's staff pages: live Jobs table, chunked resumable uploads, transcript editor helpers.
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var CSRF = csrfMeta ? csrfMeta.content : "";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }

  function clock(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    var mm = (h && m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return (h ? h + ":" : "") + mm + ":" + ss;
  }

  function post(url) {
    return fetch(url, { method: "POST", headers: { "X-CSRFToken": CSRF }, credentials: "same-origin" });
  }
  window.RecallStaff = { el: el, clock: clock, post: post, csrf: CSRF };

  // -- Jobs ---------------------------------------------------------------------------------
  var table = document.getElementById("jobs");
  if (table) {
    var tbody = table.querySelector("tbody");
    var source = table.getAttribute("data-source");

    var row = function (j) {
      var pct = Math.floor(j.progress * 100) + "%";
      var statusCell = el("td", {}, [
        el("span", { "class": "status status-" + j.status.replace(" ", "-"), text: j.status }),
        j.stage && (j.status === "queued" || j.status === "processing") ? el("div", { "class": "meta", text: j.stage }) : null,
        j.error ? el("div", { "class": "reason", text: j.error }) : null,
        j.note ? el("div", { "class": "meta", text: j.note }) : null
      ]);
      var action = null;
      if (j.status === "failed" || j.status === "cancelled") { action = "retry"; }
      if (j.status === "queued" || j.status === "processing") { action = "cancel"; }
      var button = null;
      if (action) {
        button = el("button", { type: "button", "class": action === "cancel" ? "secondary" : "", text: action === "retry" ? "Retry" : "Cancel" });
        button.addEventListener("click", function () {
          button.disabled = true;
          post(source + "/" + encodeURIComponent(j.id) + "/" + action).then(refresh, refresh);
        });
      }
      var bar = el("progress", { max: "1", value: String(j.progress), "aria-label": "Progress of " + j.title, text: pct });
      var tr = el("tr", { "data-id": j.id, "data-status": j.status }, [
        el("td", {}, [el("a", { href: j.url, text: j.title }), el("div", { "class": "meta", text: j.source_name })]),
        statusCell,
        el("td", {}, [bar, document.createTextNode(" "), el("span", { "class": "pct", text: pct })]),
        el("td", { "class": "eta", text: j.eta_seconds === null ? "" : clock(j.eta_seconds) }),
        el("td", { "class": "actions" }, [button])
      ]);
      return tr;
    };

    var timer = null;
    var refresh = function () {
      clearTimeout(timer);
      fetch(source, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (jobs) {
          var rows = jobs.map(row);
          if (!rows.length) {
            rows = [el("tr", { "class": "none" }, [el("td", { colspan: "5", text: "No jobs." })])];
          }
          tbody.replaceChildren.apply(tbody, rows);
          var busy = jobs.some(function (j) { return j.status === "queued" || j.status === "processing"; });
          timer = setTimeout(refresh, busy ? 1500 : 5000);
        })
        .catch(function () { timer = setTimeout(refresh, 5000); });
    };
    refresh();
  }

  // -- Uploads (tus 1.0: POST to create, PATCH chunks, HEAD to resume) ---------------------
  var form = document.getElementById("upload-form");
  if (form) {
    var CHUNK = 8 * 1024 * 1024;
    var endpoint = form.getAttribute("data-endpoint");
    var list = document.getElementById("upload-files");
    var startButton = document.getElementById("start-upload");
    var summary = document.getElementById("upload-summary");
    var drop = document.getElementById("dropzone");
    var input = document.getElementById("files");
    var items = [];

    var b64 = function (text) { return btoa(unescape(encodeURIComponent(text))); };
    var list2 = function (text) { return text.split(",").map(function (s) { return s.trim(); }).filter(Boolean).join(";"); };
    var size = function (bytes) {
      return bytes >= 1e9 ? (bytes / 1e9).toFixed(2) + " GB" : bytes >= 1e6 ? (bytes / 1e6).toFixed(1) + " MB" : Math.ceil(bytes / 1e3) + " kB";
    };
    var keyOf = function (file) { return "recall-upload:" + file.name + ":" + file.size + ":" + file.lastModified; };

    var request = function (method, url, headers, body, onProgress) {
      return new Promise(function (resolve, reject) {
        var xhr = new XMLHttpRequest();
        xhr.open(method, url);
        xhr.setRequestHeader("Tus-Resumable", "1.0.0");
        xhr.setRequestHeader("X-CSRFToken", CSRF);
        Object.keys(headers).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
        if (onProgress) { xhr.upload.onprogress = function (e) { onProgress(e.loaded); }; }
        xhr.onload = function () { resolve(xhr); };
        xhr.onerror = function () { reject(new Error("network")); };
        xhr.onabort = function () { reject(new Error("paused")); };
        xhr.send(body || null);
        request.current = xhr;
      });
    };

    var message = function (xhr) {
      try { return JSON.parse(xhr.responseText).message; } catch (e) { return "The server answered " + xhr.status + "."; }
    };

    var setState = function (item, text, kind) {
      item.state.textContent = text;
      item.state.className = "state" + (kind ? " " + kind : "");
    };

    var metadata = function (item) {
      var fields = { filename: item.file.name, title: item.title.value.trim() };
      ["event", "recorded_on", "description", "visibility"].forEach(function (name) { fields[name] = form.elements[name].value.trim(); });
      fields.speakers = list2(form.elements.speakers.value);
      fields.tags = list2(form.elements.tags.value);
      return Object.keys(fields).filter(function (k) { return fields[k]; }).map(function (k) { return k + " " + b64(fields[k]); }).join(",");
    };

    var offsetOf = function (item) {
      var url = localStorage.getItem(keyOf(item.file));
      if (!url) { return Promise.resolve(null); }
      return request("HEAD", url, {}).then(function (xhr) {
        if (xhr.status !== 200) { localStorage.removeItem(keyOf(item.file)); return null; }
        item.url = url;
        return parseInt(xhr.getResponseHeader("Upload-Offset"), 10);
      });
    };

    var create = function (item) {
      return request("POST", endpoint, { "Upload-Length": String(item.file.size), "Upload-Metadata": metadata(item) }).then(function (xhr) {
        if (xhr.status !== 201) { throw { fatal: message(xhr) }; }
        item.url = xhr.getResponseHeader("Location");
        localStorage.setItem(keyOf(item.file), item.url);
        return 0;
      });
    };

    var finished = function (item, xhr) {
      localStorage.removeItem(keyOf(item.file));
      item.done = true;
      item.bar.value = item.file.size;
      var id = xhr.getResponseHeader("Recall-Recording");
      var duplicate = xhr.getResponseHeader("Recall-Duplicate") === "1";
      item.state.replaceChildren(
        document.createTextNode(duplicate ? "Already in the library — " : "Uploaded; processing — "),
        el("a", { href: form.getAttribute("data-jobs"), text: "see Jobs" }),
        document.createTextNode(" · "),
        el("a", { href: "/r/" + encodeURIComponent(id), text: "open" }));
      item.state.className = "state good";
      item.pause.hidden = true;
    };

    var send = function (item, offset) {
      if (item.paused) { throw new Error("paused"); }
      var end = Math.min(offset + CHUNK, item.file.size);
      return request("PATCH", item.url, { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" },
        item.file.slice(offset, end), function (loaded) {
          item.bar.value = offset + loaded;
          setState(item, size(offset + loaded) + " of " + size(item.file.size) + " sent");
        }).then(function (xhr) {
        if (xhr.status === 204 && xhr.getResponseHeader("Recall-Recording")) { finished(item, xhr); return null; }
        if (xhr.status === 204) { return send(item, parseInt(xhr.getResponseHeader("Upload-Offset"), 10)); }
        if (xhr.status === 409 || xhr.status >= 500) { throw new Error("retry"); }
        throw { fatal: message(xhr) };
      });
    };

    var run = function (item, attempt) {
      item.paused = false;
      item.pause.textContent = "Pause";
      setState(item, attempt ? "Connection lost; resuming…" : "Starting…");
      return offsetOf(item)
        .then(function (offset) { return offset === null ? create(item) : offset; })
        .then(function (offset) { return send(item, offset); })
        .catch(function (e) {
          if (e && e.fatal) {
            localStorage.removeItem(keyOf(item.file));
            item.failed = true;
            item.pause.hidden = true;
            setState(item, e.fatal, "bad");
            return;
          }
          if (item.paused) { setState(item, "Paused at " + size(item.bar.value)); return; }
          if (attempt >= 8) { setState(item, "Stopped: the server cannot be reached. Press Resume to try again.", "bad"); item.paused = true; item.pause.textContent = "Resume"; return; }
          return new Promise(function (r) { setTimeout(r, Math.min(30000, 1000 * Math.pow(2, attempt))); })
            .then(function () { return run(item, attempt + 1); });
        });
    };

    var add = function (files) {
      Array.prototype.forEach.call(files, function (file) {
        var title = el("input", { type: "text", "class": "title-input", value: file.name.replace(/\.[^.]+$/, "").replace(/[_\s]+/g, " ").trim(), "aria-label": "Title for " + file.name });
        var state = el("span", { "class": "state", text: size(file.size) + " · ready to upload" });
        var pause = el("button", { type: "button", "class": "secondary", text: "Pause", hidden: "" });
        var remove = el("button", { type: "button", "class": "secondary", text: "Remove" });
        var bar = el("progress", { max: String(file.size), value: "0", "aria-label": "Upload of " + file.name });
        var li = el("li", { "class": "upload-file" }, [
          el("div", {}, [title, el("div", { "class": "meta", text: file.name })]),
          el("div", { "class": "row-actions" }, [pause, remove]), bar, state]);
        var item = { file: file, title: title, state: state, bar: bar, pause: pause, li: li, started: false };
        pause.addEventListener("click", function () {
          if (item.paused) { run(item, 0); return; }
          item.paused = true;
          if (request.current) { request.current.abort(); }
        });
        remove.addEventListener("click", function () {
          item.paused = true;
          if (item.started && !item.done && item.url) {
            if (request.current) { request.current.abort(); }
            request("DELETE", item.url, {}).catch(function () {});
            localStorage.removeItem(keyOf(file));
          }
          items.splice(items.indexOf(item), 1);
          li.remove();
          update();
        });
        items.push(item);
        list.appendChild(li);
      });
      update();
    };

    var update = function () {
      var waiting = items.filter(function (i) { return !i.started; }).length;
      startButton.disabled = waiting === 0;
      startButton.textContent = waiting > 1 ? "Upload " + waiting + " files" : "Upload";
      summary.textContent = items.length ? "" : "No files chosen yet.";
    };

    input.addEventListener("change", function () { add(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach(function (type) {
      drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      drop.addEventListener(type, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (e) { e.preventDefault(); add(e.dataTransfer.files); });

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var queue = items.filter(function (i) { return !i.started; });
      queue.forEach(function (i) { i.started = true; i.title.readOnly = true; i.pause.hidden = false; setState(i, "Waiting…"); });
      update();
      // One file at a time: the connection's whole bandwidth goes to the file nearest done.
      queue.reduce(function (chain, item) { return chain.then(function () { return run(item, 0); }); }, Promise.resolve())
        .then(function () {
          var ok = queue.filter(function (i) { return i.done; }).length;
          summary.textContent = ok + " of " + queue.length + " uploaded.";
        });
    });
    update();
  }
})();
