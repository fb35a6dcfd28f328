// Stack traces in the positions the user wrote. Installed only when some
// module of the build was transformed (TypeScript, JSX, CommonJS); `map`
// (native, see positions.rs) rewrites the frames of those modules in a stack
// string, or returns it as it is.
//
// QuickJS builds an error's stack eagerly, in the generated code's
// positions. This replaces the `stack` accessor of Error.prototype with one
// that maps the frames when the stack is read, so nothing is decoded unless
// a stack is formatted: a run that reads none (whether or not it throws)
// does what it did without tables.
//
// Evaluated once, at build time.
(function (map) {
  "use strict";

  const apply = Reflect.apply;
  const { get: getStack, set: setStack } = Object.getOwnPropertyDescriptor(Error.prototype, "stack");
  const captureStackTrace = Error.captureStackTrace;

  Object.defineProperty(Error.prototype, "stack", {
    get: {
      stack() {
        const stack = apply(getStack, this, []);
        return typeof stack === "string" ? map(stack) : stack;
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
            own.value = map(stack);
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
