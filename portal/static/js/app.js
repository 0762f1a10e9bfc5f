// Small progressive enhancements; every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.value || source.textContent.trim()).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

// A form's submit button is disabled while its post is in flight, so a double click sends one
// request (the server's one-time submission key makes a second post harmless anyway). Forms that
// htmx sends say so with hx-disabled-elt; here the plain ones, until the next page shows.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || !(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
  // After the submission has read the clicked button's name and value.
  setTimeout(() => {
    form.querySelectorAll("button[type='submit'], button:not([type]), input[type='submit']").forEach((button) => {
      if (button.disabled) return;
      button.disabled = true;
      button.dataset.sending = "";
    });
  }, 0);
});
// Coming back with the browser's Back button shows the page as it was left: enable the buttons again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  document.querySelectorAll("[data-sending]").forEach((button) => {
    button.disabled = false;
    delete button.dataset.sending;
  });
});
