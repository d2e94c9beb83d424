// « Imprimer »: opens the browser's print dialog (the print stylesheet keeps the summary alone).
// The button is hidden in the HTML and shown here: without JavaScript, the browser's own menu
// prints. Loaded with <script src> (the CSP forbids inline scripts).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-imprimer]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
