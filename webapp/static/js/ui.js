// Shared behaviour of the server-rendered pages (loaded in <head>, before the first paint):
// - the colour scheme: the system's, unless the person chose one with a [data-theme-toggle]
//   button (remembered in localStorage under "pb-theme"; the Vue builder reads the same key);
// - the phone menu closes with Escape or a click elsewhere;
// - pbConfirm(): the one confirm dialog (the same look and keys as the builder's ConfirmDialog),
//   a native <dialog> opened modally, so focus stays inside and Escape cancels.
(function () {
  "use strict";
  var KEY = "pb-theme";
  var root = document.documentElement;

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return value === "dark" || value === "light" ? value : null;
    } catch (e) {
      return null;
    }
  }

  function systemDark() {
    return Boolean(window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  }

  function current() {
    return stored() || (systemDark() ? "dark" : "light");
  }

  function sync() {
    var dark = current() === "dark";
    var buttons = document.querySelectorAll("[data-theme-toggle]");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].setAttribute("aria-pressed", dark ? "true" : "false");
    }
  }

  function apply() {
    var choice = stored();
    if (choice) root.setAttribute("data-theme", choice);
    else root.removeAttribute("data-theme");
    sync();
  }

  function setTheme(theme) {
    try {
      window.localStorage.setItem(KEY, theme);
    } catch (e) {
      /* private mode: the choice lasts for this page only */
    }
    root.setAttribute("data-theme", theme);
    sync();
  }

  apply();
  document.addEventListener("DOMContentLoaded", sync);
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("[data-theme-toggle]") : null;
    if (button) setTheme(current() === "dark" ? "light" : "dark");
  });
  // The phone menu (<details class="menu">): Escape or a click elsewhere closes it.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector("details.menu[open]");
    if (!open) return;
    open.open = false;
    var summary = open.querySelector("summary");
    if (summary) summary.focus();
  });
  document.addEventListener("click", function (event) {
    var open = document.querySelector("details.menu[open]");
    if (open && !open.contains(event.target)) open.open = false;
  });
  if (window.matchMedia) {
    var query = window.matchMedia("(prefers-color-scheme: dark)");
    if (query.addEventListener) query.addEventListener("change", sync);
  }

  var counter = 0;

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  /**
   * Asks a yes/no question in the app's own dialog.
   * @param {{title: string, message?: string, confirmLabel?: string, cancelLabel?: string}} options
   * @returns {Promise<boolean>} true when the person confirmed.
   */
  function pbConfirm(options) {
    counter += 1;
    var id = "confirm-" + counter;
    var previous = document.activeElement;
    var dialog = make("dialog", "dialog");
    dialog.setAttribute("role", "alertdialog");
    dialog.setAttribute("aria-labelledby", id + "-title");
    dialog.setAttribute("aria-describedby", id + "-message");
    dialog.setAttribute("data-testid", "confirm-dialog");
    var box = make("div", "dialog-box");
    var title = make("h2", "", options.title);
    title.id = id + "-title";
    var message = make("p", "", options.message || "");
    message.id = id + "-message";
    var actions = make("div", "dialog-actions");
    var cancel = make("button", "btn btn-secondary", options.cancelLabel || "Cancel");
    cancel.type = "button";
    var confirm = make("button", "btn btn-danger-solid", options.confirmLabel || "Confirm");
    confirm.type = "button";
    confirm.setAttribute("data-testid", "confirm");
    actions.append(cancel, confirm);
    box.append(title, message, actions);
    dialog.append(box);
    document.body.append(dialog);

    return new Promise(function (resolve) {
      var answered = false;
      function close(answer) {
        if (answered) return;
        answered = true;
        if (dialog.open) dialog.close();
        dialog.remove();
        if (previous && previous.focus && document.contains(previous)) previous.focus();
        resolve(answer);
      }
      cancel.addEventListener("click", function () { close(false); });
      confirm.addEventListener("click", function () { close(true); });
      dialog.addEventListener("cancel", function (event) { event.preventDefault(); close(false); });
      dialog.addEventListener("click", function (event) { if (event.target === dialog) close(false); });
      dialog.showModal();
      cancel.focus();
    });
  }

  window.pbConfirm = pbConfirm;
  window.pbTheme = { current: current, set: setTheme };
})();
