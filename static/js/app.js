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

  /* Focus goes back to whatever opened a dialog when it closes (Esc, Cancel, or a write done). */
  var lastOpener = null;

  function openDialog(dialog, opener) {
    dialog._opener = opener || document.activeElement;
    if (!dialog._closeListener) {
      dialog._closeListener = true;
      dialog.addEventListener("close", function () {
        var back = dialog._opener;
        dialog._opener = null;
        if (back && back.isConnected && typeof back.focus === "function") back.focus();
      });
    }
    dialog.showModal();
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

  /* A dialog that a request brought (the activation preview, the audit drawer) returns focus to
     the control that asked for it. */
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var cfg = evt.detail.requestConfig || {};
    var trigger = cfg.triggeringEvent;
    lastOpener = (trigger && trigger.submitter) || document.activeElement || evt.detail.elt;
  });

  document.addEventListener("htmx:afterSettle", function (evt) {
    var root = evt.detail.elt || document;
    var scope = root.querySelectorAll ? root : document;
    scope.querySelectorAll("dialog[data-autoopen]").forEach(function (d) {
      d.removeAttribute("data-autoopen");
      if (!d.open) openDialog(d, lastOpener);
    });
  });

  /* History: one entry per user action, and the URL always says what is on screen.
     - empty filters are dropped from the URL (reloading it shows the same rows);
     - a request whose URL is already the current one replaces the entry instead of adding one
       (a filter applied on change, then Apply: one entry);
     - typing in a search box adds one entry for the first request, then replaces it. */
  var typingIn = null;

  function canonical(path) {
    var url = new URL(path, window.location.href);
    var kept = new URLSearchParams();
    url.searchParams.forEach(function (value, name) {
      if (value === "" || (name === "page" && value === "1")) return;
      kept.append(name, value);
    });
    var query = kept.toString();
    return url.pathname + (query ? "?" + query : "");
  }

  document.addEventListener("htmx:beforeHistoryUpdate", function (evt) {
    var update = evt.detail.history;
    if (!update || !update.path) return;
    update.path = canonical(update.path);
    var cfg = evt.detail.requestConfig || {};
    var trigger = cfg.triggeringEvent;
    var typing = trigger && trigger.type === "input" ? evt.detail.elt : null;
    if (update.path === window.location.pathname + window.location.search) {
      update.type = "replace";
    } else if (typing && typingIn === typing) {
      update.type = "replace";
    }
    typingIn = typing;
  });

  window.addEventListener("popstate", function () { typingIn = null; });

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
      /* The trigger is a link to the same confirmation as a page (for browsers without
         scripts); with scripts the dialog opens in place. */
      evt.preventDefault();
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && !dialog.open) openDialog(dialog, opener);
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

  /* Sizes read the same everywhere: like Django's filesizeformat (1024-based, one decimal). */
  function fileSize(bytes) {
    var units = ["bytes", "KB", "MB", "GB"];
    var space = "\u00a0";  /* as Django's filter: the number and its unit stay on one line */
    if (bytes < 1024) return bytes + space + (bytes === 1 ? "byte" : "bytes");
    var value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return value.toFixed(1) + space + units[unit];
  }

  /* Import panel: reading a big file is left to the browser's upload; just show its name/size. */
  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
    var note = document.getElementById(input.getAttribute("data-file-note") || "");
    if (!note) return;
    var file = input.files && input.files[0];
    note.textContent = file
      ? file.name + " · " + fileSize(file.size) + " file (stored as canonical JSON, without indentation)"
      : "";
  });

  /* Line numbers beside a pasted document (textarea[data-line-numbers]): a gutter kept in step
     with the text's lines and its scrolling. Without this script the box is a plain textarea.
     Lines are counted by "\n" (the textarea does not wrap: wrap="off"), as the parser counts
     them, so "line 55" in an error is the 55th number here. */
  function numberLines(area) {
    if (area._gutter) return;
    var wrap = el("div", "numbered-input");
    var gutter = el("div", "line-gutter");
    gutter.setAttribute("aria-hidden", "true");
    area.parentNode.insertBefore(wrap, area);
    wrap.appendChild(gutter);
    wrap.appendChild(area);
    area._gutter = gutter;
    var shown = 0;
    function refresh() {
      var lines = area.value.split("\n").length;
      if (lines !== shown) {
        var numbers = [];
        for (var i = 1; i <= lines; i += 1) numbers.push(i);
        gutter.textContent = numbers.join("\n");
        shown = lines;
      }
      gutter.scrollTop = area.scrollTop;
    }
    area.addEventListener("input", refresh);
    area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
    refresh();
  }

  function numberAll(root) {
    (root || document).querySelectorAll("textarea[data-line-numbers]").forEach(numberLines);
  }

  document.addEventListener("htmx:afterSettle", function () { numberAll(document); });

  /* Toasts rendered by the server (after a redirect) fade like the others. */
  document.addEventListener("DOMContentLoaded", function () {
    numberAll(document);
    document.querySelectorAll("#toasts .toast:not(.toast-error)").forEach(function (item) {
      setTimeout(function () { item.remove(); }, TOAST_MS);
    });
    document.querySelectorAll("dialog[data-autoopen]").forEach(function (d) {
      d.removeAttribute("data-autoopen");
      openDialog(d, null);
    });
  });
})();
