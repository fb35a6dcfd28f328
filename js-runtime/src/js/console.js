// console, formatting values as Node's util.inspect does (compact mode 3,
// break length 80, depth 2), written to stdout (log, info, debug, dir, table,
// count, time*) or stderr (warn, error, trace, assert).
//
// Evaluated once, when the engine is initialised at build time; the running
// module finds these functions already compiled in its snapshot.
(function (native) {
  "use strict";

  const BREAK_LENGTH = 80;
  const COMPACT = 3;
  const MAX_ARRAY_LENGTH = 100;
  const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
  const { getPrototypeOf, getOwnPropertyDescriptor, keys: objectKeys, getOwnPropertySymbols } = Object;
  const isEnumerable = (o, k) => Object.prototype.propertyIsEnumerable.call(o, k);

  function quote(s) {
    const q = !s.includes("'") ? "'" : !s.includes('"') ? '"' : !s.includes("`") && !s.includes("${") ? "`" : "'";
    let out = q;
    for (const ch of s) {
      if (ch === q || ch === "\\") out += "\\" + ch;
      else if (ch === "\n") out += "\\n";
      else if (ch === "\t") out += "\\t";
      else if (ch === "\r") out += "\\r";
      else if (ch === "\b") out += "\\b";
      else if (ch === "\f") out += "\\f";
      else if (ch === "\v") out += "\\v";
      else if (ch < " " || ch === "\x7f") out += "\\x" + ch.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase();
      // A lone surrogate (iteration yields pairs whole), as Node shows it.
      else if (ch.length === 1 && ch >= "\ud800" && ch <= "\udfff") out += "\\u" + ch.charCodeAt(0).toString(16);
      else out += ch;
    }
    return out + q;
  }

  const formatNumber = (n) => (Object.is(n, -0) ? "-0" : String(n));
  const formatKey = (k) => (typeof k === "symbol" ? "[" + k.toString() + "]" : IDENT.test(k) ? k : quote(k));

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
    let proto = getPrototypeOf(v);
    if (proto === null) return null;
    const c = proto.constructor;
    return typeof c === "function" && typeof c.name === "string" ? c.name : "";
  }

  function functionBase(fn) {
    const source = Function.prototype.toString.call(fn);
    if (/^class\b/.test(source)) return "[class " + (fn.name || "(anonymous)") + "]";
    const ctor = constructorName(fn);
    const kind = ctor === "AsyncFunction" || ctor === "GeneratorFunction" || ctor === "AsyncGeneratorFunction" ? ctor : "Function";
    return "[" + kind + (fn.name ? ": " + fn.name : " (anonymous)") + "]";
  }

  function isBelowBreakLength(ctx, output, start, base) {
    let total = output.length + start;
    if (total + output.length > BREAK_LENGTH) return false;
    for (const entry of output) {
      total += entry.length;
      if (total > BREAK_LENGTH) return false;
    }
    return base === "" || !base.includes("\n");
  }

  // Node's groupArrayElements: arrays of more than six short entries are
  // printed in aligned columns.
  function groupArrayElements(ctx, output, value) {
    let totalLength = 0;
    let maxLength = 0;
    let outputLength = output.length;
    if (output.hasMore) outputLength--;
    const separatorSpace = 2;
    const dataLen = new Array(outputLength);
    for (let i = 0; i < outputLength; i++) {
      const len = output[i].length;
      dataLen[i] = len;
      totalLength += len + separatorSpace;
      if (maxLength < len) maxLength = len;
    }
    const actualMax = maxLength + separatorSpace;
    if (actualMax * 3 + ctx.indentationLvl < BREAK_LENGTH && (totalLength / actualMax > 5 || maxLength <= 6)) {
      const averageBias = Math.sqrt(actualMax - totalLength / output.length);
      const biasedMax = Math.max(actualMax - 3 - averageBias, 1);
      const columns = Math.min(
        Math.round(Math.sqrt(2.5 * biasedMax * outputLength) / biasedMax),
        Math.floor((BREAK_LENGTH - ctx.indentationLvl) / actualMax),
        COMPACT * 4,
        15,
      );
      if (columns <= 1) return output;
      const tmp = [];
      const maxLineLength = [];
      for (let i = 0; i < columns; i++) {
        let lineLength = 0;
        for (let j = i; j < output.length; j += columns) if (dataLen[j] > lineLength) lineLength = dataLen[j];
        maxLineLength.push(lineLength + separatorSpace);
      }
      let padStart = true;
      if (value !== undefined) {
        for (let i = 0; i < output.length; i++) {
          if (typeof value[i] !== "number" && typeof value[i] !== "bigint") {
            padStart = false;
            break;
          }
        }
      }
      for (let i = 0; i < outputLength; i += columns) {
        const max = Math.min(i + columns, outputLength);
        let str = "";
        let j = i;
        for (; j < max - 1; j++) {
          const cell = output[j] + ", ";
          str += padStart ? cell.padStart(maxLineLength[j - i], " ") : cell.padEnd(maxLineLength[j - i], " ");
        }
        str += padStart ? output[j].padStart(maxLineLength[j - i] - separatorSpace, " ") : output[j];
        tmp.push(str);
      }
      if (output.hasMore) tmp.push(output[outputLength]);
      output = tmp;
    }
    return output;
  }

  function reduceToSingleString(ctx, output, base, braces, isArrayLike, recurseTimes, value) {
    const entries = output.length;
    if (isArrayLike && entries > 6) output = groupArrayElements(ctx, output, value);
    if (ctx.currentDepth - recurseTimes < COMPACT && entries === output.length) {
      const start = output.length + ctx.indentationLvl + braces[0].length + base.length + 10;
      if (isBelowBreakLength(ctx, output, start, base)) {
        const joined = output.join(", ");
        if (!joined.includes("\n")) return (base ? base + " " : "") + braces[0] + " " + joined + " " + braces[1];
      }
    }
    const indentation = "\n" + " ".repeat(ctx.indentationLvl);
    return (base ? base + " " : "") + braces[0] + indentation + "  " + output.join("," + indentation + "  ") + indentation + braces[1];
  }

  function formatProperty(ctx, value, recurseTimes, key, isArrayEntry) {
    const desc = getOwnPropertyDescriptor(value, key) || { value: value[key], enumerable: true };
    let str;
    if (desc.value !== undefined || !("get" in desc || "set" in desc)) {
      ctx.indentationLvl += 2;
      str = formatValue(ctx, desc.value, recurseTimes);
      ctx.indentationLvl -= 2;
    } else if (desc.get !== undefined) {
      str = desc.set !== undefined ? "[Getter/Setter]" : "[Getter]";
    } else {
      str = desc.set !== undefined ? "[Setter]" : "undefined";
    }
    return isArrayEntry ? str : formatKey(key) + ": " + str;
  }

  function ownKeys(value, skipIndices) {
    const keys = objectKeys(value).filter((k) => !(skipIndices && /^(0|[1-9][0-9]*)$/.test(k)));
    for (const s of getOwnPropertySymbols(value)) if (isEnumerable(value, s)) keys.push(s);
    return keys;
  }

  function formatValue(ctx, value, recurseTimes, topLevel) {
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
    }
    if (value === null) return "null";
    if (ctx.seen.includes(value)) {
      let index = ctx.circular.get(value);
      if (index === undefined) {
        index = ctx.circular.size + 1;
        ctx.circular.set(value, index);
      }
      return "[Circular *" + index + "]";
    }
    return formatRaw(ctx, value, recurseTimes);
  }

  function formatRaw(ctx, value, recurseTimes) {
    const name = constructorName(value);
    let keys = [];
    let base = "";
    let braces;
    let formatter = () => [];
    let isArrayLike = false;
    const prefix = (fallback, size) => {
      const shown = name === null ? "[" + fallback + ": null prototype]" : name;
      return (size !== undefined ? shown + "(" + size + ") " : shown === "Object" ? "" : shown + " ");
    };

    if (Array.isArray(value)) {
      keys = ownKeys(value, true);
      braces = [(name === "Array" ? "" : prefix("Array", value.length)) + "[", "]"];
      if (value.length === 0 && keys.length === 0) return braces[0] + "]";
      isArrayLike = true;
      formatter = formatArray;
    } else if (typeof value === "function") {
      base = functionBase(value);
      keys = ownKeys(value, false);
      if (keys.length === 0) return base;
      braces = ["{", "}"];
    } else if (value instanceof Error) {
      base = errorText(value);
      keys = ownKeys(value, false).filter((k) => k !== "stack" && k !== "message");
      if (keys.length === 0) return base;
      braces = ["{", "}"];
    } else if (value instanceof Map) {
      keys = ownKeys(value, false);
      braces = [prefix("Map", value.size) + "{", "}"];
      if (value.size === 0 && keys.length === 0) return braces[0] + "}";
      formatter = formatMap;
    } else if (value instanceof Set) {
      keys = ownKeys(value, false);
      braces = [prefix("Set", value.size) + "{", "}"];
      if (value.size === 0 && keys.length === 0) return braces[0] + "}";
      formatter = formatSet;
    } else if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      keys = ownKeys(value, true);
      braces = [prefix(name || "TypedArray", value.length) + "[", "]"];
      if (value.length === 0 && keys.length === 0) return braces[0] + "]";
      isArrayLike = true;
      formatter = formatTypedArray;
    } else if (value instanceof ArrayBuffer) {
      keys = ownKeys(value, false);
      braces = ["ArrayBuffer {", "}"];
      formatter = formatArrayBuffer;
    } else if (value instanceof Date) {
      base = isNaN(value) ? "Invalid Date" : value.toISOString();
      keys = ownKeys(value, false);
      if (keys.length === 0) return base;
      braces = ["{", "}"];
    } else if (value instanceof RegExp) {
      base = String(value);
      keys = ownKeys(value, false).filter((k) => k !== "lastIndex");
      if (keys.length === 0) return base;
      braces = ["{", "}"];
    } else if (value instanceof Promise) {
      const [state, result] = native.promiseState(value);
      braces = ["Promise {", "}"];
      keys = ownKeys(value, false);
      formatter = (ctx, v, recurseTimes) => {
        if (state === "pending") return ["<pending>"];
        ctx.indentationLvl += 2;
        const shown = formatValue(ctx, result, recurseTimes);
        ctx.indentationLvl -= 2;
        return [state === "rejected" ? "<rejected> " + shown : shown];
      };
    } else if (value instanceof WeakMap || value instanceof WeakSet) {
      return (value instanceof WeakMap ? "WeakMap" : "WeakSet") + " { <items unknown> }";
    } else if (value instanceof Number || value instanceof String || value instanceof Boolean || value instanceof BigInt || value instanceof Symbol) {
      const prim = value.valueOf();
      const type = typeof prim === "bigint" ? "BigInt" : name;
      base = "[" + type + ": " + formatValue(ctx, prim, recurseTimes, false) + "]";
      keys = ownKeys(value, value instanceof String);
      if (keys.length === 0) return base;
      braces = ["{", "}"];
    } else {
      keys = ownKeys(value, false);
      const tag = value[Symbol.toStringTag];
      let start = prefix("Object");
      if (typeof tag === "string" && tag !== "" && tag !== name) start = (start || "Object ") + "[" + tag + "] ";
      braces = [start + "{", "}"];
      if (keys.length === 0) return braces[0] + "}";
    }

    if (recurseTimes > ctx.depth) {
      return "[" + (Array.isArray(value) ? "Array" : name === null ? "Object: null prototype" : name || "Object") + "]";
    }
    recurseTimes += 1;
    ctx.seen.push(value);
    ctx.currentDepth = recurseTimes;
    let output;
    try {
      output = formatter(ctx, value, recurseTimes);
      for (const key of keys) output.push(formatProperty(ctx, value, recurseTimes, key, false));
    } finally {
      ctx.seen.pop();
    }
    const index = ctx.circular.get(value);
    if (index !== undefined) {
      const reference = "<ref *" + index + ">";
      if (base === "") braces[0] = reference + " " + braces[0];
      else base = reference + " " + base;
    }
    return reduceToSingleString(ctx, output, base, braces, isArrayLike, recurseTimes, value);
  }

  function formatArray(ctx, value, recurseTimes) {
    const output = [];
    const length = Math.min(value.length, MAX_ARRAY_LENGTH);
    let holes = 0;
    for (let i = 0; i < value.length && output.length < length; i++) {
      if (!Object.prototype.hasOwnProperty.call(value, i)) {
        holes++;
        continue;
      }
      if (holes) output.push("<" + holes + " empty item" + (holes > 1 ? "s" : "") + ">");
      holes = 0;
      output.push(formatProperty(ctx, value, recurseTimes, i, true));
    }
    if (holes) output.push("<" + holes + " empty item" + (holes > 1 ? "s" : "") + ">");
    const remaining = value.length - length;
    if (remaining > 0) {
      output.push("... " + remaining + " more item" + (remaining > 1 ? "s" : ""));
      output.hasMore = true;
    }
    return output;
  }

  function formatTypedArray(ctx, value) {
    const length = Math.min(value.length, MAX_ARRAY_LENGTH);
    const output = [];
    for (let i = 0; i < length; i++) output.push(typeof value[i] === "bigint" ? value[i] + "n" : formatNumber(value[i]));
    if (value.length > length) {
      output.push("... " + (value.length - length) + " more item" + (value.length - length > 1 ? "s" : ""));
      output.hasMore = true;
    }
    return output;
  }

  function formatArrayBuffer(ctx, value) {
    const bytes = new Uint8Array(value, 0, Math.min(value.byteLength, 50));
    let hex = Array.prototype.map.call(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
    if (value.byteLength > 50) hex += " ... " + (value.byteLength - 50) + " more byte" + (value.byteLength - 50 > 1 ? "s" : "");
    return ["[Uint8Contents]: <" + hex + ">", "byteLength: " + value.byteLength];
  }

  function formatMap(ctx, value, recurseTimes) {
    const output = [];
    ctx.indentationLvl += 2;
    for (const [k, v] of value) output.push(formatValue(ctx, k, recurseTimes) + " => " + formatValue(ctx, v, recurseTimes));
    ctx.indentationLvl -= 2;
    return output;
  }

  function formatSet(ctx, value, recurseTimes) {
    const output = [];
    ctx.indentationLvl += 2;
    for (const v of value) output.push(formatValue(ctx, v, recurseTimes));
    ctx.indentationLvl -= 2;
    return output;
  }

  function inspect(value, options = {}) {
    const depth = options.depth === null ? Infinity : options.depth === undefined ? 2 : options.depth;
    const ctx = { seen: [], circular: new Map(), indentationLvl: 0, currentDepth: 0, depth };
    return formatValue(ctx, value, 0, false);
  }

  function formatArgs(args) {
    if (args.length === 0) return "";
    const first = args[0];
    let rest = 1;
    let out = "";
    if (typeof first === "string") {
      if (args.length === 1) return first;
      let last = 0;
      for (let i = 0; i < first.length - 1; i++) {
        if (first.charCodeAt(i) !== 37) continue; // '%'
        const f = first[i + 1];
        if (rest >= args.length && f !== "%") continue;
        let piece;
        switch (f) {
          case "s": {
            const a = args[rest++];
            piece = typeof a === "string" ? a : typeof a === "bigint" ? a + "n" : typeof a === "object" && a !== null ? inspect(a, { depth: 0 }) : typeof a === "symbol" ? a.toString() : typeof a === "number" ? formatNumber(a) : String(a);
            break;
          }
          case "d":
          case "i": {
            const a = args[rest++];
            if (typeof a === "bigint") piece = a + "n";
            else if (typeof a === "symbol") piece = "NaN";
            else piece = formatNumber(f === "i" ? parseInt(a) : Number(a));
            break;
          }
          case "f": {
            const a = args[rest++];
            piece = typeof a === "symbol" ? "NaN" : formatNumber(parseFloat(a));
            break;
          }
          case "j": {
            const a = args[rest++];
            try {
              piece = JSON.stringify(a);
            } catch (e) {
              piece = "[Circular]";
            }
            break;
          }
          case "o":
          case "O":
            piece = inspect(args[rest++], { depth: f === "o" ? 4 : 2 });
            break;
          case "c":
            rest++;
            piece = "";
            break;
          case "%":
            out += first.slice(last, i) + "%";
            last = i + 2;
            i++;
            continue;
          default:
            continue;
        }
        out += first.slice(last, i) + piece;
        last = i + 2;
        i++;
      }
      out += first.slice(last);
    } else {
      out = inspect(first);
    }
    for (; rest < args.length; rest++) {
      const a = args[rest];
      out += " " + (typeof a === "string" ? a : inspect(a));
    }
    return out;
  }

  let groupIndent = "";
  const emit = (isError, text) => {
    if (groupIndent) text = groupIndent + text.split("\n").join("\n" + groupIndent);
    native.console(isError, text + "\n");
  };
  const counts = new Map();
  const timers = new Map();

  function renderTable(data, properties) {
    const rows = [];
    const columns = [];
    let hasValues = false;
    const keysOf = data instanceof Map ? [...data.keys()] : Object.keys(data);
    const valuesOf = data instanceof Map ? [...data.values()] : keysOf.map((k) => data[k]);
    const cell = (v) => (v === undefined ? "" : formatValue({ seen: [], circular: new Map(), indentationLvl: 0, currentDepth: 0, depth: 1 }, v, 1, false));
    valuesOf.forEach((row, i) => {
      const entry = { index: data instanceof Map ? cell(keysOf[i]) : String(keysOf[i]), cells: {} };
      if (row !== null && typeof row === "object") {
        for (const k of properties ?? Object.keys(row)) {
          if (!columns.includes(k)) columns.push(k);
          if (k in row) entry.cells[k] = cell(row[k]);
        }
      } else {
        hasValues = true;
        entry.value = cell(row);
      }
      rows.push(entry);
    });
    const header = ["(index)", ...columns, ...(hasValues ? ["Values"] : [])];
    const table = rows.map((r) => [r.index, ...columns.map((c) => r.cells[c] ?? ""), ...(hasValues ? [r.value ?? ""] : [])]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)) + 2);
    const line = (l, m, r) => l + widths.map((w) => "─".repeat(w)).join(m) + r;
    const render = (cells) => "│" + cells.map((c, i) => " " + c + " ".repeat(widths[i] - c.length - 1)).join("│") + "│";
    return [line("┌", "┬", "┐"), render(header), line("├", "┼", "┤"), ...table.map(render), line("└", "┴", "┘")].join("\n");
  }

  const now = () => native.now();
  const console = {
    // Native: calls that print only strings are written directly (see
    // console.rs); the others come back to these functions.
    log: native.fastConsole("log", false, (...args) => emit(false, formatArgs(args))),
    info: native.fastConsole("info", false, (...args) => emit(false, formatArgs(args))),
    debug: native.fastConsole("debug", false, (...args) => emit(false, formatArgs(args))),
    warn: native.fastConsole("warn", true, (...args) => emit(true, formatArgs(args))),
    error: native.fastConsole("error", true, (...args) => emit(true, formatArgs(args))),
    dir: (value, options) => emit(false, inspect(value, options ?? {})),
    trace: (...args) => {
      const stack = new Error().stack.split("\n").slice(1).join("\n").replace(/\n+$/, "");
      emit(true, "Trace" + (args.length ? ": " + formatArgs(args) : "") + (stack ? "\n" + stack : ""));
    },
    assert: (condition, ...args) => {
      if (condition) return;
      emit(true, "Assertion failed" + (args.length ? ": " + formatArgs(args) : ""));
    },
    table: (data, properties) => {
      if (data === null || typeof data !== "object") return console.log(data);
      emit(false, renderTable(data, properties));
    },
    count: (label = "default") => {
      label = String(label);
      const n = (counts.get(label) ?? 0) + 1;
      counts.set(label, n);
      emit(false, label + ": " + n);
    },
    countReset: (label = "default") => {
      counts.delete(String(label));
    },
    group: (...args) => {
      if (args.length) emit(false, formatArgs(args));
      groupIndent += "  ";
      native.setGrouped(true);
    },
    groupCollapsed: (...args) => console.group(...args),
    groupEnd: () => {
      groupIndent = groupIndent.slice(0, -2);
      native.setGrouped(groupIndent !== "");
    },
    time: (label = "default") => {
      label = String(label);
      if (timers.has(label)) return emit(true, `Warning: Label '${label}' already exists for console.time()`);
      timers.set(label, now());
    },
    timeLog: (label = "default", ...args) => {
      label = String(label);
      if (!timers.has(label)) return emit(true, `Warning: No such label '${label}' for console.timeLog()`);
      emit(false, label + ": " + formatDuration(now() - timers.get(label)) + (args.length ? " " + formatArgs(args) : ""));
    },
    timeEnd: (label = "default") => {
      label = String(label);
      if (!timers.has(label)) return emit(true, `Warning: No such label '${label}' for console.timeEnd()`);
      emit(false, label + ": " + formatDuration(now() - timers.get(label)));
      timers.delete(label);
    },
  };

  function formatDuration(ms) {
    if (ms >= 1000) return (ms / 1000).toFixed(3) + "s";
    return ms.toFixed(3) + "ms";
  }

  Object.defineProperty(globalThis, "console", { value: console, writable: true, configurable: true, enumerable: false });

  // How an uncaught exception is reported, as in `Uncaught Error: message`
  // followed by the stack.
  return function describeUncaught(e) {
    return "Uncaught " + (e instanceof Error ? errorText(e) : inspect(e));
  };
});
