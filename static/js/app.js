// offlabel's only script besides htmx. No inline handlers: the Content Security Policy allows
// scripts from our own origin only.

// Confirmation before a destructive or irreversible action: <form data-confirm="...">.
document.addEventListener(
  "submit",
  (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  },
  true,
);
