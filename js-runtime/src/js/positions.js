// Stack traces in the positions the user wrote. Installed only when some
// module of the build was transformed (TypeScript, JSX, CommonJS): `tables`
// lists, for each such module, its name and its position table (see
// positions/src/lib.rs for the format), as [name, table, name, table, ...].
//
// QuickJS builds an error's stack eagerly, in the generated code's
// positions. This replaces the `stack` accessor of Error.prototype with one
// that rewrites the frames of transformed modules when the stack is read, so
// nothing is decoded unless a stack is formatted: a run that reads none
// (whether or not it throws) costs what it did without tables. Frames of
// other modules are returned exactly as QuickJS wrote them.
//
// Evaluated once, at build time; the tables live in the snapshot.
(function (tables) {
  "use strict";

  const byName = Object.create(null);
  for (let i = 0; i < tables.length; i += 2) {
    const text = tables[i + 1];
    const newline = text.indexOf("\n");
    // `starts` (where each generated line's group begins) is computed on
    // first use.
    byName[tables[i]] = { file: text.slice(0, newline), text, body: newline + 1, starts: null };
  }

  const apply = Reflect.apply;
  const { get: getStack, set: setStack } = Object.getOwnPropertyDescriptor(Error.prototype, "stack");
  const captureStackTrace = Error.captureStackTrace;

  const DIGITS = [];
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < 64; i++) DIGITS[ALPHABET.charCodeAt(i)] = i;

  function lineStarts(table) {
    const starts = [table.body];
    const text = table.text;
    for (let at = text.indexOf(";", table.body); at >= 0; at = text.indexOf(";", at + 1)) starts.push(at + 1);
    return starts;
  }

  // The original [line, column] (1-based) of the segment at or before
  // generated `column` (0-based) on generated `line` (0-based), or undefined
  // if the line has none there.
  function lookupLine(table, line, column) {
    const text = table.text;
    const starts = table.starts;
    let at = starts[line];
    const end = line + 1 < starts.length ? starts[line + 1] - 1 : text.length;
    let found;
    let genCol = 0;
    let srcLine = 0;
    let srcCol = 0;
    let first = true;
    const values = [0, 0, 0];
    while (at < end) {
      for (let v = 0; v < 3; v++) {
        let value = 0;
        let shift = 0;
        let digit;
        do {
          digit = DIGITS[text.charCodeAt(at++)];
          value += (digit & 31) * 2 ** shift;
          shift += 5;
        } while (digit & 32);
        values[v] = value % 2 === 1 ? -(value - 1) / 2 : value / 2;
      }
      at++; // the ',' (or the group's end)
      if (first) {
        genCol = values[0];
        srcLine = line + values[1];
        srcCol = values[2];
        first = false;
      } else {
        genCol += values[0];
        srcLine += values[1];
        srcCol += values[2];
      }
      if (genCol > column) break;
      found = [srcLine + 1, srcCol + 1];
    }
    return found;
  }

  // The nearest segment at or before QuickJS's 1-based `line:column`,
  // looking back over earlier lines when its own line has none.
  function lookup(table, line, column) {
    if (table.starts === null) table.starts = lineStarts(table);
    const starts = table.starts;
    let l = line - 1;
    let c = column - 1;
    if (l >= starts.length) {
      l = starts.length - 1;
      c = Infinity;
    }
    for (; l >= 0; l--, c = Infinity) {
      const found = lookupLine(table, l, c);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  // One line of a stack: `    at name (file:line:column)`, or
  // `    at file:line:column` (a SyntaxError's position).
  const POSITION = /:(\d+):(\d+)$/;
  function mapFrame(frame) {
    if (!frame.startsWith("    at ")) return frame;
    const parens = frame.endsWith(")");
    const body = parens ? frame.slice(0, -1) : frame;
    const match = POSITION.exec(body);
    if (match === null) return frame;
    const place = body.slice(0, match.index);
    let head;
    let table;
    if (parens) {
      // A function's name may hold " (": try each from the right.
      for (let i = place.lastIndexOf(" ("); i > 0; i = place.lastIndexOf(" (", i - 1)) {
        table = byName[place.slice(i + 2)];
        if (table !== undefined) {
          head = place.slice(0, i + 2);
          break;
        }
      }
    } else {
      table = byName[place.slice(7)];
      head = "    at ";
    }
    if (table === undefined) return frame;
    const original = lookup(table, +match[1], +match[2]);
    if (original === undefined) return frame;
    return head + table.file + ":" + original[0] + ":" + original[1] + (parens ? ")" : "");
  }

  function mapStack(stack) {
    if (typeof stack !== "string") return stack;
    const frames = stack.split("\n");
    for (let i = 0; i < frames.length; i++) frames[i] = mapFrame(frames[i]);
    return frames.join("\n");
  }

  Object.defineProperty(Error.prototype, "stack", {
    get: {
      stack() {
        return mapStack(apply(getStack, this, []));
      },
    }.stack,
    set: setStack,
    enumerable: false,
    configurable: true,
  });

  // `Error.captureStackTrace(target)` gives `target` a `stack` data property
  // of its own, which the accessor above never sees: map it as it is made.
  // When `constructorOpt` is not on the stack QuickJS starts at the caller,
  // which is this wrapper: its frame is taken out again.
  if (typeof captureStackTrace === "function") {
    const SELF = "    at captureStackTrace (kiln:positions:";
    Object.defineProperty(Error, "captureStackTrace", {
      value: {
        captureStackTrace(target, constructorOpt) {
          captureStackTrace(target, constructorOpt);
          const own = Object.getOwnPropertyDescriptor(target, "stack");
          if (own !== undefined && typeof own.value === "string") {
            let stack = own.value;
            if (stack.startsWith(SELF)) stack = stack.slice(stack.indexOf("\n") + 1);
            own.value = mapStack(stack);
            Object.defineProperty(target, "stack", own);
          }
        },
      }.captureStackTrace,
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
});
