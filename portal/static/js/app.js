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

// The main navigation folds behind its menu button on narrow screens (CSS decides when).
// Without this script the button stays hidden and the menu stays open.
(() => {
  const nav = document.querySelector(".nav");
  const toggle = nav && nav.querySelector(".nav__toggle");
  const menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  if (!menu) return;
  const setOpen = (open) => {
    toggle.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("is-open", open);
  };
  nav.classList.add("nav--collapsible");
  toggle.hidden = false;
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  nav.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      toggle.focus();
    }
  });
})();

// The pinned views' menu closes as menus do: on a click elsewhere, or on Escape (back to its button).
document.addEventListener("click", (event) => {
  document.querySelectorAll(".nav__pins details[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.open = false;
  });
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  document.querySelectorAll(".nav__pins details[open]").forEach((menu) => {
    menu.open = false;
    menu.querySelector("summary").focus();
  });
});

// A table too wide for its box scrolls sideways; keyboard users need to reach it (WCAG 2.1.1),
// so such a box becomes a focusable, named region. Re-checked after htmx swaps and on resize.
const markScrollableTables = () => {
  document.querySelectorAll(".table-wrap").forEach((box) => {
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    if (scrolls && !box.hasAttribute("tabindex")) {
      const caption = box.querySelector("caption");
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", (caption && caption.textContent.trim()) || "Table (scrolls sideways)");
    } else if (!scrolls && box.getAttribute("role") === "region") {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  });
};
markScrollableTables();
window.addEventListener("resize", markScrollableTables);
document.addEventListener("htmx:afterSettle", markScrollableTables);

// Global search: the down arrow goes from the box into the results, up and down move through them,
// Escape (or leaving the search) closes the list. The links themselves are plain links.
(() => {
  const box = document.getElementById("global-q");
  const popup = document.getElementById("global-search-results");
  if (!box || !popup) return;
  const form = box.form;
  const links = () => [...popup.querySelectorAll("a")];
  const close = () => { popup.replaceChildren(); };
  form.addEventListener("keydown", (event) => {
    const items = links();
    const index = items.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      items[Math.min(index + 1, items.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      (index === 0 ? box : items[index - 1]).focus();
    } else if (event.key === "Escape" && popup.childElementCount) {
      event.preventDefault();
      event.stopPropagation();  // the menu stays open; only the list closes
      close();
      box.focus();
    }
  });
  form.addEventListener("focusout", (event) => {
    if (!form.contains(event.relatedTarget)) close();
  });
})();

// A chart's buckets: one tab stop per chart, the arrow keys move between buckets (each shows its values).
const rovingCharts = (root) => {
  root.querySelectorAll("[data-chart]").forEach((chart) => {
    const slots = [...chart.querySelectorAll(".chart__slot")];
    slots.forEach((slot, index) => slot.setAttribute("tabindex", index === slots.length - 1 ? "0" : "-1"));
    chart.addEventListener("keydown", (event) => {
      const index = slots.indexOf(document.activeElement);
      if (index < 0) return;
      const next = {ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: slots.length - 1}[event.key];
      if (next === undefined || !slots[next]) return;
      event.preventDefault();
      slots[index].setAttribute("tabindex", "-1");
      slots[next].setAttribute("tabindex", "0");
      slots[next].focus();
    });
  });
};
rovingCharts(document);
document.addEventListener("htmx:afterSettle", (event) => rovingCharts(event.detail.elt));

// The branding page shows a chosen logo file before it is uploaded (the server checks it on upload).
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file" || input.name !== "logo") return;
  const preview = document.querySelector("[data-logo-preview]");
  const file = input.files && input.files[0];
  if (!preview || !file || !file.type.startsWith("image/")) return;
  const reader = new FileReader();
  reader.addEventListener("load", () => {
    preview.src = reader.result;
    preview.alt = "The chosen file, not saved yet";
    preview.hidden = false;
    // The name with its initial gives way to the chosen file (its CSS display would beat `hidden`).
    const wordmark = preview.parentElement.querySelector(".public-wordmark");
    if (wordmark) wordmark.remove();
    const caption = document.querySelector("[data-logo-caption]");
    if (caption) caption.textContent = "The chosen file, as prospects would see it (not saved yet)";
  });
  reader.readAsDataURL(file);
});
