/* The one script of the pages: dialogs, toasts for every failed htmx request, copy buttons.
   Loaded as a static file: the CSP forbids inline scripts and on* attributes. */
(function () {
  "use strict";

  var TOAST_MS = 8000;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function toast(level, title, lines) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var item = el("div", "toast toast-" + level);
    item.setAttribute("role", level === "error" ? "alert" : "status");
    var body = el("div", "toast-body");
    body.appendChild(el("strong", null, title));
    if (lines && lines.length) {
      var list = el("ul");
      lines.forEach(function (line) { list.appendChild(el("li", null, line)); });
      body.appendChild(list);
    }
    item.appendChild(body);
    var close = el("button", "toast-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    item.appendChild(close);
    box.appendChild(item);
    if (level !== "error") setTimeout(function () { item.remove(); }, TOAST_MS);
  }

  /* problem+json (RFC 9457): detail plus each errors[].message, with its path. */
  function problemToast(xhr) {
    var title = "Request failed (" + xhr.status + ")";
    var lines = [];
    try {
      var problem = JSON.parse(xhr.responseText);
      title = problem.detail || problem.title || title;
      (problem.errors || []).forEach(function (err) {
        var where = err.path ? err.path + ": " : "";
        lines.push(where + (err.message || err.code || ""));
      });
    } catch (ignored) {
      if (xhr.status === 0) title = "The server could not be reached.";
    }
    toast("error", title, lines.slice(0, 20));
  }

  function closeDialogs() {
    document.querySelectorAll("dialog[open]").forEach(function (d) { d.close(); });
  }

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr.status < 400) return;
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("text/html") === 0) {
      /* The server rendered inline errors (a form or a validation report): show them. */
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
      return;
    }
    evt.detail.shouldSwap = false;
    evt.detail.isError = false;
    closeDialogs();
    problemToast(xhr);
  });

  document.addEventListener("htmx:sendError", function () {
    closeDialogs();
    toast("error", "The server could not be reached.", []);
  });

  document.addEventListener("htmx:afterSettle", function (evt) {
    var root = evt.detail.elt || document;
    var scope = root.querySelectorAll ? root : document;
    scope.querySelectorAll("dialog[data-autoopen]").forEach(function (d) {
      d.removeAttribute("data-autoopen");
      if (!d.open) d.showModal();
    });
  });

  /* Server-sent toasts: HX-Trigger: {"toast": {"level": "success", "message": "..."}} */
  document.addEventListener("toast", function (evt) {
    var d = evt.detail || {};
    toast(d.level || "info", d.message || "", d.lines || []);
  });

  function copyText(text, button) {
    var finish = function () {
      var old = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = old; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(finish, function () { toast("error", "Copy failed", []); });
      return;
    }
    var area = el("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); finish(); } catch (e) { toast("error", "Copy failed", []); }
    area.remove();
  }

  document.addEventListener("click", function (evt) {
    var target = evt.target;
    if (!(target instanceof Element)) return;
    var opener = target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && !dialog.open) dialog.showModal();
      return;
    }
    var closer = target.closest("[data-dialog-close]");
    if (closer) {
      var parent = closer.closest("dialog");
      if (parent) parent.close();
      return;
    }
    var dismiss = target.closest(".toast-close");
    if (dismiss) {
      dismiss.closest(".toast").remove();
      return;
    }
    var copy = target.closest("[data-copy-from]");
    if (copy) {
      var viewer = document.getElementById(copy.getAttribute("data-copy-from"));
      var code = viewer && viewer.querySelector("td.code pre, pre.plain, pre");
      if (code) copyText(code.textContent, copy);
      return;
    }
    var tab = target.closest("[data-tab]");
    if (tab) {
      var group = tab.closest("[data-tabs]");
      if (!group) return;
      evt.preventDefault();
      group.querySelectorAll("[data-tab]").forEach(function (t) {
        t.setAttribute("aria-selected", t === tab ? "true" : "false");
      });
      group.querySelectorAll("[data-tab-panel]").forEach(function (p) {
        p.hidden = p.getAttribute("data-tab-panel") !== tab.getAttribute("data-tab");
      });
    }
  });

  /* Import panel: reading a big file is left to the browser's upload; just show its name/size. */
  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
    var note = document.getElementById(input.getAttribute("data-file-note") || "");
    if (!note) return;
    var file = input.files && input.files[0];
    note.textContent = file ? file.name + " · " + Math.ceil(file.size / 1024) + " KiB" : "";
  });

  /* Toasts rendered by the server (after a redirect) fade like the others. */
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast:not(.toast-error)").forEach(function (item) {
      setTimeout(function () { item.remove(); }, TOAST_MS);
    });
    document.querySelectorAll("dialog[data-autoopen]").forEach(function (d) {
      d.removeAttribute("data-autoopen");
      d.showModal();
    });
  });
})();
