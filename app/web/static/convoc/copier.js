// « Copier le lien »: copies the text of the field named by data-copy-target. The button is
// hidden in the HTML and shown here, so that without JavaScript the page offers only the
// selectable field. Loaded with <script src> (the CSP forbids inline scripts).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy-target]")) {
    const field = document.getElementById(button.dataset.copyTarget);
    const status = document.getElementById(button.id + "-etat");
    if (!field) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      field.select();
      let copied = false;
      try {
        await navigator.clipboard.writeText(field.value);
        copied = true;
      } catch {
        copied = document.execCommand && document.execCommand("copy");
      }
      if (status) {
        status.textContent = copied
          ? "Lien copié dans le presse-papiers."
          : "Copie impossible : sélectionnez le lien et copiez-le (Ctrl+C).";
      }
    });
  }
});
