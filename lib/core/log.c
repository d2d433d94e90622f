/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kk_log.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kk_log_component *components;
static _Atomic int global_level = KK_LOG_INFO;
static _Atomic int log_fd = 2;
static kk_log_sink_fn log_sink;
static void *log_sink_arg;
static pthread_rwlock_t sink_lock = PTHREAD_RWLOCK_INITIALIZER;
static __thread char thread_name[16];

static const char *const level_names[] = {"ERR", "WARN", "INFO", "DEBUG", "TRACE"};
static const char *const level_spec_names[] = {"err", "warn", "info", "debug", "trace"};

void kk_log_register(struct kk_log_component *comp)
{
    pthread_mutex_lock(&registry_lock);
    comp->next = components;
    components = comp;
    pthread_mutex_unlock(&registry_lock);
}

bool kk_log_enabled(const struct kk_log_component *comp, enum kk_log_level level)
{
    int l = __atomic_load_n(&comp->level, __ATOMIC_RELAXED);
    if (l < 0)
        l = atomic_load_explicit(&global_level, memory_order_relaxed);
    return (int)level <= l;
}

const char *kk_log_level_name(enum kk_log_level level)
{
    if ((unsigned)level < KK_ARRAY_SIZE(level_names))
        return level_names[level];
    return "?";
}

int kk_log_level_parse(const char *name)
{
    for (size_t i = 0; i < KK_ARRAY_SIZE(level_spec_names); i++) {
        if (strcasecmp(name, level_spec_names[i]) == 0)
            return (int)i;
    }
    if (strcasecmp(name, "error") == 0)
        return KK_LOG_ERR;
    if (strcasecmp(name, "warning") == 0)
        return KK_LOG_WARN;
    return -EINVAL;
}

void kk_log_set_level(enum kk_log_level level)
{
    atomic_store(&global_level, (int)level);
}

enum kk_log_level kk_log_get_level(void)
{
    return (enum kk_log_level)atomic_load(&global_level);
}

static struct kk_log_component *find_component(const char *name, size_t len)
{
    for (struct kk_log_component *c = components; c; c = c->next) {
        if (strlen(c->name) == len && strncmp(c->name, name, len) == 0)
            return c;
    }
    return NULL;
}

int kk_log_set_component_level(const char *name, int level)
{
    pthread_mutex_lock(&registry_lock);
    struct kk_log_component *c = find_component(name, strlen(name));
    if (c)
        __atomic_store_n(&c->level, level < 0 ? -1 : level, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&registry_lock);
    return c ? 0 : -ENOENT;
}

/*
 * Two passes over the spec: the first validates every item, the second
 * applies them, so a bad spec changes nothing.
 */
static int apply_levels(const char *spec, bool apply)
{
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[128];
        if (len == 0 || len >= sizeof(item))
            return -EINVAL;
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '=');
        if (!eq) {
            int l = kk_log_level_parse(item);
            if (l < 0)
                return -EINVAL;
            if (apply)
                kk_log_set_level((enum kk_log_level)l);
        } else {
            *eq = '\0';
            int l = kk_log_level_parse(eq + 1);
            if (l < 0 || item[0] == '\0')
                return -EINVAL;
            if (!find_component(item, strlen(item)))
                return -ENOENT;
            if (apply) {
                struct kk_log_component *c = find_component(item, strlen(item));
                __atomic_store_n(&c->level, l, __ATOMIC_RELAXED);
            }
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

int kk_log_set_levels(const char *spec)
{
    if (!spec || !*spec)
        return -EINVAL;
    pthread_mutex_lock(&registry_lock);
    int rc = apply_levels(spec, false);
    if (rc == 0)
        apply_levels(spec, true);
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

void kk_log_for_each_component(kk_log_component_visit_fn fn, void *arg)
{
    pthread_mutex_lock(&registry_lock);
    for (struct kk_log_component *c = components; c; c = c->next)
        fn(arg, c->name, __atomic_load_n(&c->level, __ATOMIC_RELAXED));
    pthread_mutex_unlock(&registry_lock);
}

void kk_log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

void kk_log_set_sink(kk_log_sink_fn fn, void *arg)
{
    pthread_rwlock_wrlock(&sink_lock);
    log_sink = fn;
    log_sink_arg = arg;
    pthread_rwlock_unlock(&sink_lock);
}

void kk_log_set_thread_name(const char *name)
{
    snprintf(thread_name, sizeof(thread_name), "%s", name ? name : "");
}

bool kk_ratelimit_allow(struct kk_ratelimit *rl, uint32_t burst, uint64_t interval_ns,
                        uint32_t *suppressed)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    uint64_t start = __atomic_load_n(&rl->window_start_ns, __ATOMIC_RELAXED);

    *suppressed = 0;
    /* Start a new window; the thread that wins the swap resets the count. */
    if (start == 0 || now - start >= interval_ns) {
        if (__atomic_compare_exchange_n(&rl->window_start_ns, &start, now ? now : 1, false,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            __atomic_store_n(&rl->count, 0, __ATOMIC_RELAXED);
    }
    uint32_t c = __atomic_fetch_add(&rl->count, 1, __ATOMIC_RELAXED);
    if (c < burst) {
        *suppressed = __atomic_exchange_n(&rl->suppressed, 0, __ATOMIC_RELAXED);
        return true;
    }
    __atomic_fetch_add(&rl->suppressed, 1, __ATOMIC_RELAXED);
    return false;
}

void kk_log_vwrite(const struct kk_log_component *comp, enum kk_log_level level,
                   const char *fmt, va_list ap)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    int saved_errno = errno;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    if (thread_name[0] == '\0')
        pthread_getname_np(pthread_self(), thread_name, sizeof(thread_name));

    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, kk_log_level_name(level), comp->name,
                     thread_name);
    size_t prefix = n < 0 ? 0 : KK_MIN((size_t)n, sizeof(line) - 1);
    int m = vsnprintf(line + prefix, sizeof(line) - prefix, fmt, ap);
    size_t len = prefix + (m < 0 ? 0 : KK_MIN((size_t)m, sizeof(line) - prefix - 1));
    /* Keep one line per message: control characters from peers are escaped
     * to '?' so a hostile string cannot forge log lines. */
    for (size_t i = prefix; i < len; i++) {
        if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
            line[i] = '?';
    }

    pthread_rwlock_rdlock(&sink_lock);
    if (log_sink) {
        line[len] = '\0';
        log_sink(log_sink_arg, level, comp->name, line);
        pthread_rwlock_unlock(&sink_lock);
        errno = saved_errno;
        return;
    }
    pthread_rwlock_unlock(&sink_lock);

    if (len >= sizeof(line) - 1)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(atomic_load(&log_fd), line, len);
    (void)w;
    errno = saved_errno;
}

void kk_log_write(const struct kk_log_component *comp, enum kk_log_level level,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kk_log_vwrite(comp, level, fmt, ap);
    va_end(ap);
}
