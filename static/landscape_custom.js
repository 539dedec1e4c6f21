// Your own function: the editor under the landscape select ("Custom…": a formula f(x, y), a domain and
// Apply), shared by the landscape and tools pages. The server reads the formula; a refusal is shown next
// to the box as the server words it (the token and its position), never in an alert.

import { CUSTOM, LANDSCAPES, loadCustom, parseDomain } from "./landscape_state.js";

const byId = (id) => document.getElementById(id);

/** The server's 422 as one line per problem: a refused formula verbatim, a bad domain prefixed. */
function reason(err) {
  if (!Array.isArray(err.detail)) return err.message;
  return err.detail
    .map((d) => {
      const msg = d.msg.replace(/^Value error, /, "");
      return d.loc?.at(-1) === "domain" && !/domain|range/.test(msg) ? `domain: ${msg}` : msg;
    })
    .join("\n");
}

/** "3 local minima found numerically in the domain (★ global, ◇ local on the map). Derivatives are exact." */
export function minimaNote(ls) {
  const n = ls.minima.length;
  const found = ls.many_minima
    ? `Many local minima; the global ${n === 1 ? "one" : n} found numerically`
    : n === 1
      ? "1 minimum found numerically in the domain"
      : `${n} local minima found numerically in the domain`;
  return `${found} (★ global, ◇ local on the map). Derivatives are exact.`;
}

/**
 * Wire the editor to `state` (its `expr` and `domain`): Apply (or Enter) asks the server for the
 * formula's landscape, and on success sets state.expr and state.domain and calls `apply(landscape)`.
 * `draft` ({expr, domain, error}) is a link's formula the server refused: shown in the box with why.
 */
export function customEditor({ state, draft = null, apply }) {
  const form = byId("custom-editor");
  const expr = byId("custom-expr");
  const domain = byId("custom-domain");
  const error = byId("custom-error");
  const shown = draft ?? state;
  expr.value = shown.expr ?? "";
  domain.value = shown.domain ? shown.domain.join(",") : "";
  error.textContent = draft?.error ?? "";
  let pending = null;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    let bounds;
    try {
      bounds = parseDomain(domain.value);
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    pending?.abort();
    const job = (pending = new AbortController());
    form.dataset.status = "loading";
    try {
      const ls = await loadCustom(expr.value, bounds, { signal: job.signal });
      state.expr = expr.value;
      state.domain = bounds;
      apply(ls);
    } catch (err) {
      if (err.name !== "AbortError") error.textContent = reason(err);
    } finally {
      if (pending === job) {
        pending = null;
        form.dataset.status = "ready";
      }
    }
  });
  return {
    /** Show the editor while "Custom…" is chosen. */
    show(on) {
      form.hidden = !on;
    },
    /** Choosing "Custom…": a formula already applied comes back at once; else wait for Apply. */
    choose() {
      form.hidden = false;
      if (state.expr && expr.value === state.expr) form.requestSubmit();
      else expr.focus();
    },
  };
}

/** The landscape select with its "Custom…" choice: a built-in is switched to at once, a typed formula
 * once the server has read it (`switchTo(landscape)` either way). */
export function landscapeSelect({ state, draft, switchTo }) {
  const editor = customEditor({ state, draft, apply: switchTo });
  editor.show(state.landscape === CUSTOM || draft !== null);
  const choice = byId("landscape");
  choice.addEventListener("change", () => {
    if (choice.value === CUSTOM) editor.choose();
    else {
      editor.show(false);
      switchTo(LANDSCAPES[choice.value]);
    }
  });
  return editor;
}
