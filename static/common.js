// Shared helpers for Descent's pages: number formats, the Plotly theme, URL state, pacing, JSON and SSE
// requests, the embedded page data, parameter controls. Plain ES module, no dependencies; every page
// imports what it needs.

// --- numbers ---------------------------------------------------------------------------------------

/** Compact, readable number: 0.00123 → "0.00123", 1e-7 → "1e-7", 12345.678 → "1.235e+4". */
export function fmt(x, digits = 4) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e5) return String(Number(x.toPrecision(digits)));
  return x.toExponential(digits - 1).replace(/\.?0+e/, "e");
}

/** Shortest exact text for a number (round-trips through Number()). */
export const exact = (x) => String(x);

/** x held within [low, high]. */
export const clamp = (x, low, high) => Math.min(high, Math.max(low, x));

/** "12 %", "97.4 %" */
export const pct = (x, digits = 1) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(digits)} %`);

/** "1,234" */
export const count = (n) => Math.round(n).toLocaleString("en-US");

/** "45 s", "3 min 5 s" */
export function duration(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - 60 * m)} s`;
}

// --- colour-blind-safe palette (Okabe and Ito, 2008), yellow last: it is faint on light maps -------

export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

// --- Plotly theme: one look for every figure ---------------------------------------------------------

export const INK = "#1f2937"; // text
export const MUTED = "#6b7280"; // axis titles, notes
export const GRID = "#eef0f3"; // grid lines
export const RULE = "#d1d5db"; // zero lines and axis lines

/** Plotly's font: the page's sans-serif at `size` px (12 for figures, 11 for the small curve plots). */
export const plotFont = (size = 12, color = INK) => ({ family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size, color });

/** A figure's layout: the theme's font on white, no legend, nearest-point hover; `extra` on top. */
export const plotLayout = (extra = {}) => ({
  font: plotFont(),
  paper_bgcolor: "#ffffff",
  plot_bgcolor: "#ffffff",
  showlegend: false,
  hovermode: "closest",
  ...extra,
});

/** An axis title: small, muted, close to its ticks. */
export const axisTitle = (text) => ({ text, font: { size: 11, color: MUTED }, standoff: 4 });

/**
 * An axis: light grid, grey zero line, small ticks, room for its labels; a muted title when given.
 * (Giving `linecolor` also draws the axis line: Plotly turns `showline` on for it.)
 */
export const plotAxis = (title, extra = {}) => ({
  ...(title === undefined || title === null ? {} : { title: axisTitle(title) }),
  gridcolor: GRID,
  zerolinecolor: RULE,
  tickfont: { size: 10 },
  automargin: true,
  ...extra,
});

/** Plotly's config: no logo, redrawn at its box's size, no lasso, box-select or autoscale buttons. */
export const plotConfig = (extra = {}) => ({
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"],
  ...extra,
});

// --- URL state: one typed field list ---------------------------------------------------------------

const num = (s) => (s === "" || s === null ? NaN : Number(s));

/** Codecs: text in the query string <-> value. A decode that fails returns undefined (default kept). */
export const T = {
  string: { encode: String, decode: (s) => s },
  number: { encode: exact, decode: (s) => (Number.isFinite(num(s)) ? num(s) : undefined) },
  int: { encode: exact, decode: (s) => (Number.isInteger(num(s)) ? num(s) : undefined) },
  bool: { encode: (b) => (b ? "1" : "0"), decode: (s) => (s === "1" ? true : s === "0" ? false : undefined) },
  /** [x, y] as "x,y" */
  point: {
    encode: (p) => p.map(exact).join(","),
    decode: (s) => {
      const p = s.split(",").map(num);
      return p.length === 2 && p.every(Number.isFinite) ? p : undefined;
    },
  },
  /** {name: number} as "a:1,b:2" */
  dict: {
    encode: (d) => Object.entries(d).map(([k, v]) => `${k}:${exact(v)}`).join(","),
    decode: (s) => {
      const out = {};
      for (const part of s.split(",").filter(Boolean)) {
        const [k, v] = part.split(":");
        if (!k || !Number.isFinite(num(v))) return undefined;
        out[k] = num(v);
      }
      return out;
    },
  },
  /** [{optimizer, hyper}] as "adam:lr:0.001,b1:0.9;sgd:lr:0.01" */
  racers: {
    encode: (list) => list.map((r) => [r.optimizer, T.dict.encode(r.hyper)].filter(Boolean).join(":")).join(";"),
    decode: (s) => {
      const out = [];
      for (const part of s.split(";").filter(Boolean)) {
        const i = part.indexOf(":");
        const optimizer = i < 0 ? part : part.slice(0, i);
        const hyper = i < 0 ? {} : T.dict.decode(part.slice(i + 1));
        if (!optimizer || hyper === undefined) return undefined;
        out.push({ optimizer, hyper });
      }
      return out;
    },
  },
};

/**
 * The page's state as one list of typed fields (TensorFlow Playground's State.PROPS):
 * {name, key, type, when?}. `when(state)` false leaves a field out of the link (e.g. noise settings
 * while gradients are exact). serialize() writes every other field, so a link is complete.
 */
export class UrlState {
  constructor(fields) {
    this.fields = fields;
  }

  serialize(state) {
    const parts = [];
    for (const f of this.fields) {
      if (f.when && !f.when(state)) continue;
      const value = state[f.name];
      if (value === undefined || value === null) continue;
      // keep ":,;" readable: they are legal in a query string
      const text = encodeURIComponent(f.type.encode(value)).replace(/%3A/g, ":").replace(/%2C/g, ",").replace(/%3B/g, ";");
      parts.push(`${f.key}=${text}`);
    }
    return parts.join("&");
  }

  /** Values found in `search` (a query string), decoded; fields absent or malformed are left out. */
  deserialize(search) {
    const params = new URLSearchParams(search);
    const out = {};
    for (const f of this.fields) {
      if (!params.has(f.key)) continue;
      const value = f.type.decode(params.get(f.key));
      if (value !== undefined) out[f.name] = value;
    }
    return out;
  }

  /**
   * A function that keeps the page's link in step with `state` (an object, or a function returning
   * one: it may first copy page objects into the state). save() writes the link now, or with
   * `debounce` ms once changes pause, or with `throttle` ms at most every so often (the last change
   * always lands); save({now: true}) writes at once. `keepHash` keeps the link's #fragment.
   * save.cancel() drops a pending write.
   */
  autosave(state, { debounce = 0, throttle = 0, keepHash = false } = {}) {
    let timer = null;
    let saved = -Infinity;
    const write = () => {
      saved = performance.now();
      const query = this.serialize(typeof state === "function" ? state() : state);
      const hash = keepHash && location.hash.length > 1 ? location.hash : "";
      history.replaceState(null, "", `${location.pathname}?${query}${hash}`);
    };
    const save = ({ now = false } = {}) => {
      clearTimeout(timer);
      const wait = throttle ? saved + throttle - performance.now() : debounce;
      if (now || wait <= 0) write();
      else timer = setTimeout(write, wait);
    };
    save.cancel = () => clearTimeout(timer);
    return save;
  }
}

// --- timing ----------------------------------------------------------------------------------------

/** fn called once calls pause for `ms` milliseconds (with the last call's arguments); .cancel() drops it. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Call fn at most once per animation frame and at most every `ms` milliseconds. */
export function throttled(fn, ms = 0) {
  let queued = false;
  let last = -Infinity;
  let timer = null;
  const run = () => {
    queued = false;
    last = performance.now();
    fn();
  };
  const request = () => {
    if (queued) return;
    queued = true;
    const wait = last + ms - performance.now();
    if (wait > 0) timer = setTimeout(() => requestAnimationFrame(run), wait);
    else requestAnimationFrame(run);
  };
  request.cancel = () => {
    clearTimeout(timer);
    queued = false;
  };
  return request;
}

// --- requests ----------------------------------------------------------------------------------------

/** A non-2xx answer; `detail` is FastAPI's list of {loc, msg, type} for a 422. */
export class HttpError extends Error {
  constructor(status, detail) {
    super(Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : String(detail));
    this.status = status;
    this.detail = Array.isArray(detail) ? detail : [{ loc: [], msg: String(detail) }];
  }
}

/** A short message for a failed request: FastAPI's detail ("field: message; ..."), or the error's text. */
export function messageOf(error) {
  if (error instanceof HttpError) {
    const where = (d) => (d.loc?.length > 1 ? `${d.loc.slice(1).join(".")}: ` : "");
    return error.detail.map((d) => `${where(d)}${d.msg}`).join("; ");
  }
  return error?.message ?? String(error);
}

/**
 * fetch(url, init), resolving to the response when it is 2xx; otherwise rejects with an HttpError
 * carrying the answer's `detail` (FastAPI's), or its status line when the answer is not JSON.
 */
export async function fetchOk(url, init) {
  const response = await fetch(url, init);
  if (response.ok) return response;
  let detail = `${response.status} ${response.statusText}`;
  try {
    detail = (await response.json()).detail ?? detail;
  } catch {
    // not JSON: keep the status line
  }
  throw new HttpError(response.status, detail);
}

/** POST `body` as JSON and resolve to the JSON answer; rejects with HttpError for a non-2xx answer. */
export async function postJSON(url, body, { signal } = {}) {
  const response = await fetchOk(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  return response.json();
}

/**
 * POST `body` and read the Server-Sent Events answer (EventSource cannot POST): calls
 * onEvent(name, data) for each event, data parsed as JSON. Resolves when the stream ends;
 * rejects with HttpError for a non-2xx answer, with an AbortError when `signal` aborts.
 */
export async function streamSSE(url, body, { signal, onEvent }) {
  const response = await fetchOk(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify(body),
    signal,
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      let name = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

/** Save a Blob under `filename` (a temporary link; nothing leaves the page). */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// --- DOM ---------------------------------------------------------------------------------------------

/** The page's error banner (an element with id "banner"): show a message. */
export function showBanner(text) {
  const banner = document.getElementById("banner");
  banner.textContent = text;
  banner.hidden = false;
}

/** Hide the page's error banner. */
export function hideBanner() {
  document.getElementById("banner").hidden = true;
}

/** The JSON a page route embeds in `<script type="application/json" id="ID">`, parsed. */
export const readEmbedded = (id) => JSON.parse(document.getElementById(id).textContent);

/** h("div.card", {title: "x"}, child, "text") → element. Attributes starting with "on" add listeners. */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name);
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// --- parameter controls ------------------------------------------------------------------------------

const TICKS = 1000; // slider positions

/** Slider position (0..TICKS) <-> value, on a log scale where the parameter asks for it. */
export function sliderScale(param) {
  const { low, high } = param;
  const log = param.log && low > 0;
  return {
    toPos: (v) =>
      Math.round(TICKS * clamp(log ? Math.log(v / low) / Math.log(high / low) : (v - low) / (high - low), 0, 1)),
    toValue: (pos) => {
      const t = pos / TICKS;
      const v = log ? low * (high / low) ** t : low + t * (high - low);
      return param.integer ? Math.round(v) : Number(v.toPrecision(3));
    },
    fraction: (v) => clamp(log ? Math.log(v / low) / Math.log(high / low) : (v - low) / (high - low), 0, 1),
  };
}

/**
 * A labelled slider with an exact numeric entry for one registry parameter
 * {name, label, default, low, high, log, integer, help}. onChange(value, event) fires on every
 * accepted change; onReject(message), if given, on every typed value refused.
 * Returns {el, value, set(v), setError(msg), setMarker(v, title)}.
 */
export function paramControl(param, value, onChange, { id, onReject } = {}) {
  const scale = sliderScale(param);
  const inputId = id ?? `p-${param.name}-${Math.random().toString(36).slice(2, 8)}`;
  const range = h("input", {
    type: "range",
    min: 0,
    max: TICKS,
    step: 1,
    value: scale.toPos(value),
    "aria-label": param.label,
    dataset: { param: param.name },
  });
  const text = h("input.num", {
    type: "text",
    inputmode: "decimal",
    id: inputId,
    value: exact(value),
    spellcheck: "false",
    autocomplete: "off",
    "aria-describedby": `${inputId}-err`,
    dataset: { param: param.name },
  });
  const marker = h("span.marker", { hidden: true });
  const error = h("div.field-error", { id: `${inputId}-err`, role: "status" });
  const scaleNote = param.log && param.low > 0 ? "log scale" : "";
  const el = h(
    "div.param",
    { dataset: { name: param.name } },
    h(
      "label.param-label",
      { for: inputId, title: [param.help, `range ${fmt(param.low)} – ${fmt(param.high)}`, scaleNote].filter(Boolean).join(" · ") },
      param.label,
    ),
    h("div.slider", {}, range, marker),
    text,
    error,
  );
  const control = {
    el,
    value,
    range,
    text,
    set(v) {
      control.value = v;
      range.value = scale.toPos(v);
      if (document.activeElement !== text) text.value = exact(v);
      text.classList.remove("invalid");
    },
    setError(msg) {
      error.textContent = msg || "";
      el.classList.toggle("has-error", Boolean(msg));
    },
    /** A tick on the slider at value v (null hides it). */
    setMarker(v, title = "") {
      if (v === null || v === undefined || !Number.isFinite(v)) {
        marker.hidden = true;
        return;
      }
      marker.hidden = false;
      marker.title = title;
      marker.style.setProperty("--at", scale.fraction(v));
      marker.classList.toggle("off-scale", v < param.low || v > param.high);
    },
  };
  range.addEventListener("input", (event) => {
    const v = scale.toValue(Number(range.value));
    control.value = v;
    text.value = exact(v);
    text.classList.remove("invalid");
    control.setError("");
    onChange(v, event);
  });
  const commit = (event) => {
    const v = Number(text.value.trim());
    const ok = text.value.trim() !== "" && Number.isFinite(v) && v >= param.low && v <= param.high && (!param.integer || Number.isInteger(v));
    text.classList.toggle("invalid", !ok);
    if (!ok) {
      const message = `${param.integer ? "a whole number" : "a number"} in [${fmt(param.low)}, ${fmt(param.high)}]`;
      control.setError(message);
      onReject?.(message);
      return;
    }
    control.setError("");
    if (v === control.value) return;
    control.value = v;
    range.value = scale.toPos(v);
    onChange(v, event);
  };
  text.addEventListener("change", commit);
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter") commit(e);
  });
  return control;
}

/** A <select> of registry entries {name, label}. */
export function select(entries, value, onChange, attrs = {}) {
  const el = h(
    "select",
    attrs,
    entries.map((e) => h("option", { value: e.name, selected: e.name === value }, e.label)),
  );
  el.addEventListener("change", (event) => onChange(el.value, event));
  return el;
}

/** Copy text to the clipboard; falls back to a selected text field where the API is unavailable. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h("textarea", { readonly: true }, text);
    document.body.append(area);
    area.select();
    const ok = document.execCommand?.("copy") ?? false;
    area.remove();
    return ok;
  }
}
