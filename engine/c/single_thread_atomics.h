/*
 * Lets QuickJS-NG compile its `Atomics` object for wasm32-wasi, where the
 * engine runs on exactly one thread.
 *
 * quickjs.c defines CONFIG_ATOMICS (and so the `Atomics` global) only when
 * !defined(__wasi__) (and !defined(EMSCRIPTEN), which rquickjs-sys defines
 * for wasi too), because its Atomics.wait/notify need a mutex and condition
 * variables, and cutils.h declares js_mutex_t/js_cond_t and their functions
 * only where threads exist (JS_HAVE_THREADS, 0 on wasi; wasi-libc has no
 * pthread.h). compiler/build.rs compiles QuickJS with -DCONFIG_ATOMICS and
 * `-include` of this file, which supplies what that code needs:
 *
 * - <stdatomic.h>, which quickjs.c reaches through quickjs-c-atomics.h only
 *   under its own CONFIG_ATOMICS condition. Without wasm threads clang lowers
 *   the atomic operations to plain loads and stores, which is exact: no other
 *   agent can observe memory between them.
 * - a lock with nothing to exclude: with one thread, lock/unlock are no-ops.
 * - condition variables that can never be waited on. The engine calls
 *   JS_SetCanBlock(rt, false) (engine/src/lib.rs), so Atomics.wait throws
 *   "TypeError: cannot block in this thread" before it reaches a wait, as on
 *   a browser's main thread; Atomics.notify finds no waiter and returns 0.
 *   Were a wait ever reached, no other thread could wake it: it would hang
 *   forever, so it traps instead.
 *
 * Compiled into every C file of the wasm build; it defines nothing outside
 * wasi and nothing but static inline functions and types, so a file that
 * does not use them is unaffected. It defines nothing when _REENTRANT says
 * wasm threads exist (wasm32-wasip1-threads): there the no-op lock would be
 * wrong, and the build should fail rather than race.
 */
#ifndef KILN_SINGLE_THREAD_ATOMICS_H
#define KILN_SINGLE_THREAD_ATOMICS_H

#if defined(__wasi__) && !defined(_REENTRANT)

#include <stdatomic.h>
#include <stdint.h>

typedef struct { int unused; } js_mutex_t;
typedef struct { int unused; } js_cond_t;

/* js_once: run the callback the first time only; no other thread races. */
typedef int js_once_t;
#define JS_ONCE_INIT 0

static inline void js_once(js_once_t *guard, void (*callback)(void)) {
    if (!*guard) {
        *guard = 1;
        callback();
    }
}

static inline void js_mutex_init(js_mutex_t *mutex) { (void)mutex; }
static inline void js_mutex_destroy(js_mutex_t *mutex) { (void)mutex; }
static inline void js_mutex_lock(js_mutex_t *mutex) { (void)mutex; }
static inline void js_mutex_unlock(js_mutex_t *mutex) { (void)mutex; }

static inline void js_cond_init(js_cond_t *cond) { (void)cond; }
static inline void js_cond_destroy(js_cond_t *cond) { (void)cond; }
/* Signalling is only ever done to waiters, and there are none. */
static inline void js_cond_signal(js_cond_t *cond) { (void)cond; }
static inline void js_cond_broadcast(js_cond_t *cond) { (void)cond; }

/* Unreachable while the runtime cannot block (see above); waiting on the
   only thread would never end. */
static inline void js_cond_wait(js_cond_t *cond, js_mutex_t *mutex) {
    (void)cond;
    (void)mutex;
    __builtin_trap();
}

static inline int js_cond_timedwait(js_cond_t *cond, js_mutex_t *mutex, uint64_t timeout) {
    (void)cond;
    (void)mutex;
    (void)timeout;
    __builtin_trap();
}

#endif /* __wasi__ && !_REENTRANT */
#endif /* KILN_SINGLE_THREAD_ATOMICS_H */
