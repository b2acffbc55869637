// The edit page's history: "Restore this version" (POST …/versions/<n>/restore, then reload) and
// "Print / PDF" (the browser's print dialog; the print stylesheet hides the controls).
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("playbook-config").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const state = document.getElementById("save-state");

  document.getElementById("print-playbook")?.addEventListener("click", () => window.print());

  for (const button of document.querySelectorAll("button.restore")) {
    button.addEventListener("click", async () => {
      const version = button.dataset.version;
      button.disabled = true;
      state.textContent = `Restoring version ${version}…`;
      try {
        const res = await fetch(`${config.restore}${encodeURIComponent(version)}/restore`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
          body: "{}",
        });
        const data = await res.json().catch(() => ({}));
        if (!res.ok) throw new Error((data.error && data.error.message) || `HTTP ${res.status}`);
        state.textContent = `Restored as version ${data.version}`;
        window.location.reload();
      } catch (err) {
        state.textContent = `Could not restore: ${err.message}`;
        button.disabled = false;
      }
    });
  }
})();
