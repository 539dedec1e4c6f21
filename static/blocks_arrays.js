// Text <-> numbers on the building blocks page: the vectors and batches a user types, and arrays
// printed the way numpy prints them.

/** The numbers typed, or a message saying what is not a number. */
export function parseVector(text) {
  const parts = text.replace(/[[\]()]/g, " ").split(/[\s,;]+/).filter(Boolean);
  if (!parts.length) return { error: "type at least one number" };
  const bad = parts.find((p) => !Number.isFinite(Number(p)));
  if (bad !== undefined) return { error: `not a finite number: “${bad}”` };
  return { values: parts.map(Number) };
}

/** Nested lists of numbers from text like the seed's literals ("-.2" and "1." included). */
export function parseArray(text) {
  const tokens = text.match(/\[|\]|[^\s,[\]]+/g) ?? [];
  let i = 0;
  function value() {
    const t = tokens[i++];
    if (t === undefined) throw new Error("the text ends before its brackets close");
    if (t === "[") {
      const list = [];
      while (tokens[i] !== "]") {
        if (i >= tokens.length) throw new Error("a “[” is never closed");
        list.push(value());
      }
      i++;
      return list;
    }
    if (t === "]") throw new Error("a “]” closes nothing");
    const v = Number(t);
    if (!Number.isFinite(v)) throw new Error(`not a finite number: “${t}”`);
    return v;
  }
  const out = value();
  if (i < tokens.length) throw new Error("text after the last “]”");
  if (!Array.isArray(out)) throw new Error("write the batch in brackets, e.g. [[1, 2], [3, 4]]");
  return out;
}

/** Nesting depth of a list: 1 for [1, 2], 2 for [[1, 2]]. */
export function depth(a) {
  let d = 0;
  for (let x = a; Array.isArray(x); x = x[0]) d++;
  return d;
}

/** An array as text the way numpy prints it: one innermost row per line, brackets nesting. */
export function arrayText(a, digits = null, indent = 0) {
  if (!Array.isArray(a[0])) return `[${a.map((v) => (digits === null ? String(v) : fixed(v, digits))).join(", ")}]`;
  const pad = " ".repeat(indent + 1);
  const sep = depth(a) > 2 ? ",\n\n" : ",\n";
  return `[${a.map((row, i) => (i ? pad : "") + arrayText(row, digits, indent + 1)).join(sep)}]`;
}

/** A number with `digits` decimals, a space where a minus sign would stand. */
export const fixed = (v, digits) => (v < 0 ? "" : " ") + v.toFixed(digits);

/** A flat list as nested lists of `shape`. */
export function reshape(flat, shape) {
  if (shape.length === 1) return flat;
  const size = flat.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => reshape(flat.slice(i * size, (i + 1) * size), shape.slice(1)));
}

/** "12" → "₁₂" */
export const subscript = (n) => String(n).replace(/\d/g, (d) => "₀₁₂₃₄₅₆₇₈₉"[d]);
