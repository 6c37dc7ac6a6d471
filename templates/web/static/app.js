/* baocao web pages: small additions when JavaScript runs; every page works without it. */
(function () {
  "use strict";

  // Tổng quan: the status table is fetched again every few seconds, without reloading the page.
  document.querySelectorAll("[data-refresh]").forEach(function (box) {
    var every = (parseInt(box.getAttribute("data-every"), 10) || 10) * 1000;
    setInterval(function () {
      fetch(box.getAttribute("data-refresh"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { box.innerHTML = html; } })
        .catch(function () {});
    }, every);
  });

  // A job's page follows its progress, then reloads once it is over (to show its results).
  document.querySelectorAll("[data-job]").forEach(function (box) {
    if (box.getAttribute("data-state") !== "running") { return; }
    var timer = setInterval(function () {
      fetch(box.getAttribute("data-job"), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          var list = box.querySelector(".lines");
          list.textContent = "";
          job.lines.forEach(function (line) {
            var li = document.createElement("li"); li.textContent = line; list.appendChild(li);
          });
          if (job.state !== "running") { clearInterval(timer); window.location.reload(); }
        })
        .catch(function () {});
    }, 700);
  });

  // Upload forms: a progress bar while the file is sent; the server's answer replaces the page.
  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    var bar = form.querySelector("progress");
    var input = form.querySelector("input[type=file]");
    form.addEventListener("dragover", function (e) { e.preventDefault(); form.classList.add("dragging"); });
    form.addEventListener("dragleave", function () { form.classList.remove("dragging"); });
    form.addEventListener("drop", function (e) {
      e.preventDefault(); form.classList.remove("dragging");
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; }
    });
    if (!window.XMLHttpRequest || !window.FormData) { return; }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action"));
      bar.hidden = false;
      xhr.upload.addEventListener("progress", function (p) {
        if (p.lengthComputable) { bar.value = Math.round(100 * p.loaded / p.total); }
      });
      xhr.addEventListener("load", function () {
        if (xhr.responseURL && xhr.responseURL !== window.location.href.split("#")[0]) {
          window.location.assign(xhr.responseURL);
          return;
        }
        document.open(); document.write(xhr.responseText); document.close();
      });
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.send(new FormData(form));
    });
  });
})();
