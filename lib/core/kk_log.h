/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_log.h — leveled, per-component logging with rate limiting.
 *
 * Each library (or daemon) defines one component with a short name:
 *
 *     KK_LOG_COMPONENT(virtio_log, "virtio");
 *     ...
 *     KK_LOGW(virtio_log, "queue %u: descriptor %u out of range", q, d);
 *
 * A line looks like
 *
 *     2026-11-26T12:34:56.789Z WARN  virtio [reactor1] queue 0: descriptor 9 out of range
 *
 * (UTC timestamp with milliseconds, level, component, thread name, message),
 * and is written with a single write(2), so lines from concurrent threads
 * never interleave.
 *
 * Levels can be set globally and per component, from a spec string such as
 * "info,virtio=debug,jsonrpc=warn" (see kk_log_set_levels()).
 *
 * Data paths use the _RL variants, which allow a burst of messages per call
 * site and then at most a few per interval, counting what they suppressed
 * and saying so on the next line they let through. A guest that sends a
 * million bad descriptors cannot flood the log.
 *
 * Thread safety: every function here may be called from any thread.
 */
#ifndef KK_LOG_H
#define KK_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "kk_common.h"

enum kk_log_level {
    KK_LOG_ERR = 0,   /* something failed: an operation, a device, a peer */
    KK_LOG_WARN = 1,  /* unexpected but handled: bad input, retries */
    KK_LOG_INFO = 2,  /* what happened: devices added, peers connected */
    KK_LOG_DEBUG = 3, /* detail for developers */
    KK_LOG_TRACE = 4, /* per-packet / per-request detail */
};

struct kk_log_component {
    const char *name;
    int level; /* < 0: follow the global level; accessed atomically */
    struct kk_log_component *next;
};

/* Per-call-site state of a rate limiter; zero-initialised is valid. */
struct kk_ratelimit {
    uint64_t window_start_ns;
    uint32_t count;
    uint32_t suppressed;
};

/* Rate-limiter defaults: 10 messages per 5 seconds per call site. */
#define KK_LOG_RL_BURST 10
#define KK_LOG_RL_INTERVAL_NS (5ull * 1000 * 1000 * 1000)

/* Define and register a log component (at program start, by constructor). */
#define KK_LOG_COMPONENT(var, cname)                                         \
    struct kk_log_component var = {.name = (cname), .level = -1};            \
    __attribute__((constructor)) static void kk_log_register_##var(void)     \
    {                                                                         \
        kk_log_register(&var);                                                \
    }

/* Declare a component defined in another file of the same library. */
#define KK_LOG_COMPONENT_DECLARE(var) extern struct kk_log_component var

void kk_log_register(struct kk_log_component *comp);

/* True if a message at @level would be written for @comp. */
bool kk_log_enabled(const struct kk_log_component *comp, enum kk_log_level level);

/* Write one message (use the KK_LOG* macros instead). */
void kk_log_write(const struct kk_log_component *comp, enum kk_log_level level,
                  const char *fmt, ...) KK_PRINTF(3, 4);
void kk_log_vwrite(const struct kk_log_component *comp, enum kk_log_level level,
                   const char *fmt, va_list ap) KK_PRINTF(3, 0);

/*
 * Rate-limit check for one call site: returns true if the message may be
 * written; *suppressed receives how many messages this site dropped since the
 * last one it let through.
 */
bool kk_ratelimit_allow(struct kk_ratelimit *rl, uint32_t burst, uint64_t interval_ns,
                        uint32_t *suppressed);

#define KK_LOG(comp, level, ...)                                              \
    do {                                                                      \
        if (kk_log_enabled(&(comp), (level)))                                 \
            kk_log_write(&(comp), (level), __VA_ARGS__);                      \
    } while (0)

#define KK_LOG_RL(comp, level, fmt, ...)                                      \
    do {                                                                      \
        static struct kk_ratelimit kk_rl_;                                    \
        uint32_t kk_supp_;                                                    \
        if (kk_log_enabled(&(comp), (level)) &&                               \
            kk_ratelimit_allow(&kk_rl_, KK_LOG_RL_BURST,                      \
                               KK_LOG_RL_INTERVAL_NS, &kk_supp_)) {           \
            if (kk_supp_)                                                     \
                kk_log_write(&(comp), (level),                                \
                             "(%u similar messages suppressed) " fmt,         \
                             kk_supp_, ##__VA_ARGS__);                        \
            else                                                              \
                kk_log_write(&(comp), (level), fmt, ##__VA_ARGS__);           \
        }                                                                     \
    } while (0)

#define KK_LOGE(comp, ...) KK_LOG(comp, KK_LOG_ERR, __VA_ARGS__)
#define KK_LOGW(comp, ...) KK_LOG(comp, KK_LOG_WARN, __VA_ARGS__)
#define KK_LOGI(comp, ...) KK_LOG(comp, KK_LOG_INFO, __VA_ARGS__)
#define KK_LOGD(comp, ...) KK_LOG(comp, KK_LOG_DEBUG, __VA_ARGS__)
#define KK_LOGT(comp, ...) KK_LOG(comp, KK_LOG_TRACE, __VA_ARGS__)
#define KK_LOGE_RL(comp, ...) KK_LOG_RL(comp, KK_LOG_ERR, __VA_ARGS__)
#define KK_LOGW_RL(comp, ...) KK_LOG_RL(comp, KK_LOG_WARN, __VA_ARGS__)
#define KK_LOGI_RL(comp, ...) KK_LOG_RL(comp, KK_LOG_INFO, __VA_ARGS__)
#define KK_LOGD_RL(comp, ...) KK_LOG_RL(comp, KK_LOG_DEBUG, __VA_ARGS__)

/* Global level for components that have none of their own (default INFO). */
void kk_log_set_level(enum kk_log_level level);
enum kk_log_level kk_log_get_level(void);

/*
 * Set a component's level, or with @level < 0 make it follow the global one.
 * Returns 0, or -ENOENT when no component has that name.
 */
int kk_log_set_component_level(const char *name, int level);

/*
 * Apply a level spec: comma-separated items, each either a level name
 * ("err", "warn", "info", "debug", "trace") for the global level or
 * "component=level". Returns 0, or -EINVAL with nothing changed when an item
 * is malformed, or -ENOENT when a component is unknown.
 */
int kk_log_set_levels(const char *spec);

/* Parse a level name; returns the level or -EINVAL. */
int kk_log_level_parse(const char *name);
const char *kk_log_level_name(enum kk_log_level level);

/*
 * Where lines go. Default: file descriptor 2. kk_log_set_fd() takes no
 * ownership. A sink, when set, receives each formatted line (without the
 * trailing newline) instead; used by tests and by daemons that forward logs.
 */
void kk_log_set_fd(int fd);
typedef void (*kk_log_sink_fn)(void *arg, enum kk_log_level level, const char *component,
                               const char *line);
void kk_log_set_sink(kk_log_sink_fn fn, void *arg);

/* Name shown for the calling thread (at most 15 characters are kept). */
void kk_log_set_thread_name(const char *name);

/* Visit every registered component (for "log.list" style RPC methods). */
typedef void (*kk_log_component_visit_fn)(void *arg, const char *name, int level);
void kk_log_for_each_component(kk_log_component_visit_fn fn, void *arg);

#endif /* KK_LOG_H */
