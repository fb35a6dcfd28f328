// console: Node-style formatting of values, written to stdout (log, info,
// debug) or stderr (warn, error) through the native `write`.
//
// Evaluated once, when the engine is initialised at build time; the running
// module finds these functions already compiled in its snapshot.
(function (native) {
  "use strict";

  const MAX_DEPTH = 2;
  const BREAK_LENGTH = 72;
  const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

  function quote(s) {
    const q = !s.includes("'") ? "'" : !s.includes('"') ? '"' : !s.includes("`") ? "`" : "'";
    let out = q;
    for (const ch of s) {
      if (ch === q || ch === "\\") out += "\\" + ch;
      else if (ch === "\n") out += "\\n";
      else if (ch === "\t") out += "\\t";
      else if (ch === "\r") out += "\\r";
      else if (ch < " " || ch === "\x7f") out += "\\x" + ch.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase();
      else out += ch;
    }
    return out + q;
  }

  function formatNumber(n) {
    return Object.is(n, -0) ? "-0" : String(n);
  }

  function formatKey(k) {
    if (typeof k === "symbol") return "[" + k.toString() + "]";
    return IDENT.test(k) ? k : quote(k);
  }

  function errorText(e) {
    let text;
    try {
      const head = String(e.name) + (e.message !== undefined && e.message !== "" ? ": " + e.message : "");
      const stack = typeof e.stack === "string" ? e.stack : "";
      text = stack.startsWith(head) ? stack : head + (stack ? "\n" + stack : "");
    } catch (_) {
      text = Object.prototype.toString.call(e);
    }
    return text.replace(/\n+$/, "");
  }

  function constructorName(v) {
    const proto = Object.getPrototypeOf(v);
    if (proto === null) return null;
    const c = proto.constructor;
    return typeof c === "function" && typeof c.name === "string" ? c.name : "";
  }

  function join(parts, open, close, indent) {
    if (parts.length === 0) return open + close;
    const total = parts.reduce((n, p) => n + p.length + 2, open.length);
    if (total <= BREAK_LENGTH && !parts.some((p) => p.includes("\n"))) {
      return open + " " + parts.join(", ") + " " + close;
    }
    const pad = "\n" + " ".repeat(indent + 2);
    return open + pad + parts.map((p) => p.split("\n").join("\n  ")).join("," + pad) + "\n" + " ".repeat(indent) + close;
  }

  function inspect(value, depth, seen, indent, topLevel) {
    switch (typeof value) {
      case "string":
        return topLevel ? value : quote(value);
      case "number":
        return formatNumber(value);
      case "bigint":
        return value + "n";
      case "boolean":
        return String(value);
      case "undefined":
        return "undefined";
      case "symbol":
        return value.toString();
      case "function": {
        const isClass = /^class\b/.test(Function.prototype.toString.call(value));
        const name = value.name ? (isClass ? "class " : "Function: ") + value.name : isClass ? "class (anonymous)" : "Function (anonymous)";
        return "[" + name + "]";
      }
    }
    if (value === null) return "null";
    if (seen.includes(value)) return "[Circular *1]";
    if (value instanceof Error) return errorText(value);
    if (value instanceof Date) return isNaN(value) ? "Invalid Date" : value.toISOString();
    if (value instanceof RegExp) return String(value);
    if (value instanceof Number || value instanceof String || value instanceof Boolean) {
      const name = constructorName(value);
      const prim = value.valueOf();
      return "[" + name + ": " + (typeof prim === "string" ? quote(prim) : String(prim)) + "]";
    }
    if (value instanceof Promise) return "Promise { <pending> }";

    const name = constructorName(value);
    if (depth > MAX_DEPTH) {
      if (Array.isArray(value)) return "[Array]";
      return "[" + (name === null ? "Object: null prototype" : name || "Object") + "]";
    }
    seen.push(value);
    try {
      const child = (v) => inspect(v, depth + 1, seen, indent + 2, false);
      let parts;
      let open;
      let close;
      if (Array.isArray(value)) {
        parts = [];
        let holes = 0;
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) {
            holes++;
            continue;
          }
          if (holes) parts.push("<" + holes + " empty item" + (holes > 1 ? "s" : "") + ">");
          holes = 0;
          if (parts.length >= 100) {
            parts.push("... " + (value.length - i) + " more item" + (value.length - i > 1 ? "s" : ""));
            break;
          }
          parts.push(child(value[i]));
        }
        if (holes) parts.push("<" + holes + " empty item" + (holes > 1 ? "s" : "") + ">");
        for (const k of Object.keys(value)) {
          if (!/^(0|[1-9][0-9]*)$/.test(k)) parts.push(formatKey(k) + ": " + child(value[k]));
        }
        open = (name === "Array" ? "" : name + "(" + value.length + ") ") + "[";
        close = "]";
      } else if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
        parts = Array.prototype.slice.call(value, 0, 100).map((x) => (typeof x === "bigint" ? x + "n" : formatNumber(x)));
        if (value.length > 100) parts.push("... " + (value.length - 100) + " more items");
        open = name + "(" + value.length + ") [";
        close = "]";
      } else if (value instanceof ArrayBuffer) {
        const bytes = Array.prototype.slice.call(new Uint8Array(value, 0, Math.min(value.byteLength, 50)), 0);
        const hex = bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ");
        return "ArrayBuffer { [Uint8Contents]: <" + hex + (value.byteLength > 50 ? " ... " + (value.byteLength - 50) + " more bytes" : "") + ">, byteLength: " + value.byteLength + " }";
      } else if (value instanceof Map) {
        parts = [];
        for (const [k, v] of value) parts.push(child(k) + " => " + child(v));
        open = "Map(" + value.size + ") {";
        close = "}";
      } else if (value instanceof Set) {
        parts = [];
        for (const v of value) parts.push(child(v));
        open = "Set(" + value.size + ") {";
        close = "}";
      } else {
        parts = [];
        for (const k of Object.keys(value)) parts.push(formatKey(k) + ": " + child(value[k]));
        for (const s of Object.getOwnPropertySymbols(value)) {
          if (Object.prototype.propertyIsEnumerable.call(value, s)) parts.push(formatKey(s) + ": " + child(value[s]));
        }
        const tag = value[Symbol.toStringTag];
        let prefix = name === null ? "[Object: null prototype] " : name === "Object" ? "" : (name || "Object") + " ";
        if (typeof tag === "string" && tag !== name) prefix = (prefix || "Object ") + "[" + tag + "] ";
        open = prefix + "{";
        close = "}";
      }
      return join(parts, open, close, indent);
    } finally {
      seen.pop();
    }
  }

  function formatArgs(args) {
    if (args.length === 0) return "";
    let first = args[0];
    let rest = 1;
    let out;
    if (typeof first === "string" && first.includes("%")) {
      out = "";
      let i = 0;
      while (i < first.length) {
        const c = first[i];
        if (c === "%" && i + 1 < first.length) {
          const f = first[i + 1];
          if (f === "%") {
            out += "%";
            i += 2;
            continue;
          }
          if ("sdifjoOc".includes(f)) {
            if (f === "c") {
              if (rest < args.length) rest++;
              i += 2;
              continue;
            }
            if (rest >= args.length) {
              out += c + f;
              i += 2;
              continue;
            }
            const a = args[rest++];
            if (f === "s") out += typeof a === "string" ? a : typeof a === "bigint" ? a + "n" : typeof a === "object" && a !== null ? inspect(a, 1, [], 0, false) : String(a);
            else if (f === "d" || f === "i") {
              if (typeof a === "bigint") out += a + "n";
              else if (typeof a === "symbol") out += "NaN";
              else {
                const n = Number(a);
                out += formatNumber(f === "i" ? Math.trunc(n) : n);
              }
            } else if (f === "f") out += typeof a === "symbol" ? "NaN" : formatNumber(parseFloat(a));
            else if (f === "j") {
              try {
                out += JSON.stringify(a);
              } catch (e) {
                out += "[Circular]";
              }
            } else out += inspect(a, 0, [], 0, false);
            i += 2;
            continue;
          }
        }
        out += c;
        i++;
      }
    } else {
      out = inspect(first, 0, [], 0, true);
    }
    for (; rest < args.length; rest++) out += " " + inspect(args[rest], 0, [], 0, true);
    return out;
  }

  const stdout = (args) => native.console(false, formatArgs(args) + "\n");
  const stderr = (args) => native.console(true, formatArgs(args) + "\n");
  const console = {
    log: (...args) => stdout(args),
    info: (...args) => stdout(args),
    debug: (...args) => stdout(args),
    warn: (...args) => stderr(args),
    error: (...args) => stderr(args),
  };
  Object.defineProperty(globalThis, "console", { value: console, writable: true, configurable: true, enumerable: false });

  // How an uncaught exception is reported, as in `Uncaught Error: message`
  // followed by the stack.
  return function describeUncaught(e) {
    return "Uncaught " + (e instanceof Error ? errorText(e) : inspect(e, 0, [], 0, false));
  };
});
