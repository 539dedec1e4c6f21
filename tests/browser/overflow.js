// Problems with the layout of the page: boxes that cut their content off sideways, and controls
// (`controls`, a CSS selector) that leave the window or their panel. Evaluated by test_network_layout.py.
(controls) => {
  const width = document.documentElement.clientWidth;
  const visible = (el) => {
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return cs.visibility !== "hidden" && r.width > 2 && r.height > 2 && el.getClientRects().length > 0;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
  const text = (el) => (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 40);
  const problems = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest(".js-plotly-plot, .visually-hidden") || !visible(el)) continue;
    const cs = getComputedStyle(el);
    // a box that clips its content sideways hides part of it, unless it scrolls and shows it can
    const clips = ["hidden", "clip"].includes(cs.overflowX);
    const scrolls = ["auto", "scroll"].includes(cs.overflowX) && el.offsetHeight - el.clientHeight > 0;
    if (clips && el.scrollWidth > el.clientWidth + 1 && !scrolls) problems.push(`${name(el)} "${text(el)}" cut off: ${el.scrollWidth} > ${el.clientWidth}`);
    if (!el.matches(controls)) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -1 || r.right > width + 1) problems.push(`${name(el)} "${text(el)}" leaves the window: ${Math.round(r.left)}..${Math.round(r.right)} of ${width}`);
    const panel = el.parentElement.closest(".panel, .toolbar, .run-bar, .view-bar, aside, section");
    if (panel) {
      const p = panel.getBoundingClientRect();
      if (r.left < p.left - 1 || r.right > p.right + 1) problems.push(`${name(el)} "${text(el)}" leaves ${name(panel)}: ${Math.round(r.left)}..${Math.round(r.right)} not in ${Math.round(p.left)}..${Math.round(p.right)}`);
    }
  }
  return problems;
}
