/* SPDX-License-Identifier: Apache-2.0 */
/*
 * img_torture — drives lib/image with random operations for the
 * integration tests (tests/integration/img_qemu_test.sh), which then judge
 * the result with qemu-img.
 *
 *   img_torture mirror IMAGE REF SEED COUNT [OPS]
 *       Random writes, overwrites, zero writes, discards (whole clusters),
 *       compressed writes and snapshots on IMAGE; the same effect is applied
 *       to the raw file REF (which must exist, with the image's contents).
 *       OPS is a string of letters enabling operations: w (write, always),
 *       z (write zeroes), d (discard), c (compressed), s (snapshot: REF is
 *       copied to REF.<name> when snapshot <name> is taken). Exit 0 on
 *       success.
 *
 *   img_torture crash IMAGE SEED
 *       Endless writes, each to its own slot (slot i: 3 clusters at
 *       i * 4 clusters, pattern i & 0xff, compressed when i % 5 == 0, zeros
 *       when i % 7 == 0), a flush after every few; after each completed flush
 *       it prints "flushed N" (slots 0..N-1 are durable). Meant to be killed.
 *
 *   img_torture verify IMAGE N
 *       Checks slots 0..N-1 hold what `crash` wrote.
 *
 *   img_torture snapcrash IMAGE SEED MAXSNAPS
 *       Endless random steps on a model of the image: slot writes (plain,
 *       zeros, compressed), flushes, and snapshot create, apply and delete
 *       (at most MAXSNAPS snapshots at a time). After each completed step it
 *       prints "done N" ("done N erange" when a create was refused because a
 *       refcount would overflow). Meant to be killed.
 *
 *   img_torture snapverify IMAGE SEED MAXSNAPS LOG
 *       Replays the steps LOG records and checks the image: its snapshot list
 *       and the contents of the active image and of every snapshot are those
 *       after the last completed step, or, for a snapshot step that was under
 *       way, those after it (a snapshot operation happens completely or not
 *       at all); a slot being written when the writer died is not checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"

static uint64_t rng;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * UINT64_C(2685821657736338717);
}

static int die(const char *what, int rc)
{
    fprintf(stderr, "img_torture: %s failed: %d (%s)\n", what, rc, img_last_error());
    return 1;
}

static int ref_write(int fd, const void *buf, size_t len, uint64_t off)
{
    return pwrite(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static int copy_file(const char *from, const char *to)
{
    char *cmd;
    if (asprintf(&cmd, "cp --sparse=always '%s' '%s'", from, to) < 0)
        return -1;
    int rc = system(cmd) == 0 ? 0 : -1;
    free(cmd);
    return rc;
}

static int mirror(const char *path, const char *ref, uint64_t seed, uint64_t count, const char *ops)
{
    rng = seed * 0x9e3779b97f4a7c15ull + 1;
    struct img *img;
    struct img_open_opts o = {.flags = IMG_O_RDWR};
    int rc = img_open(path, &o, &img);
    if (rc < 0)
        return die("open", rc);
    int fd = open(ref, O_RDWR);
    if (fd < 0) {
        perror(ref);
        return 1;
    }
    uint64_t size = img_size(img), cs = img_cluster_size(img);
    size_t maxlen = (size_t)(3 * cs > 65536 ? 3 * cs : 65536);
    uint8_t *buf = malloc(maxlen), *zero = calloc(1, maxlen);
    int snaps = 0;
    for (uint64_t i = 0; i < count; i++) {
        unsigned op = (unsigned)(rnd() % 10);
        char kind = op < 5 ? 'w' : op == 5 ? 'z' : op == 6 ? 'd' : op == 7 ? 'c' : op == 8 ? 's' : 'w';
        if (!strchr(ops, kind))
            kind = 'w';
        if (kind == 's' && rnd() % 4)
            kind = 'w';
        if (kind == 'w' || kind == 'z') {
            uint64_t len = 1 + rnd() % maxlen;
            if (rnd() % 3 == 0)
                len = (len + 4095) & ~4095ull;
            if (len > size)
                len = size;
            uint64_t off = rnd() % (size - len + 1);
            if (rnd() % 3 == 0)
                off &= ~511ull;
            if (kind == 'w') {
                uint8_t p = (uint8_t)rnd();
                for (uint64_t j = 0; j < len; j++)
                    buf[j] = (uint8_t)(p + (j / 512) * 7 + (j & 3));
                rc = img_pwrite(img, buf, len, off);
                if (rc < 0)
                    return die("write", rc);
                ref_write(fd, buf, len, off);
            } else {
                rc = img_write_zeroes(img, off, len, (rnd() & 1) ? IMG_ZERO_MAY_UNMAP : 0);
                if (rc < 0)
                    return die("write_zeroes", rc);
                ref_write(fd, zero, len, off);
            }
        } else if (kind == 'd') {
            uint64_t n = 1 + rnd() % 3;
            uint64_t clusters = size / cs;
            if (clusters < n)
                continue;
            uint64_t off = (rnd() % (clusters - n + 1)) * cs;
            rc = img_discard(img, off, n * cs);
            if (rc < 0)
                return die("discard", rc);
            ref_write(fd, zero, n * cs, off);
        } else if (kind == 'c') {
            uint64_t clusters = size / cs;
            if (clusters < 1 || cs > maxlen)
                continue;
            uint64_t off = (rnd() % clusters) * cs;
            uint8_t p = (uint8_t)rnd();
            for (uint64_t j = 0; j < cs; j++)
                buf[j] = (uint8_t)(p + (j / 1024));
            rc = img_write_compressed(img, buf, cs, off);
            if (rc < 0)
                return die("write_compressed", rc);
            ref_write(fd, buf, cs, off);
        } else if (kind == 's') {
            char name[32], copy[8192];
            snprintf(name, sizeof(name), "s%d", snaps++);
            rc = img_snapshot_create(img, name);
            if (rc < 0)
                return die("snapshot", rc);
            snprintf(copy, sizeof(copy), "%s.%s", ref, name);
            fsync(fd);
            if (copy_file(ref, copy) < 0)
                return die("copy", -1);
        }
        if (rnd() % 16 == 0 && (rc = img_flush(img)) < 0)
            return die("flush", rc);
    }
    img_close(img);
    close(fd);
    free(buf);
    free(zero);
    return 0;
}

static void slot_pattern(uint64_t i, uint8_t *buf, size_t len)
{
    if (i % 7 == 0) {
        memset(buf, 0, len);
        return;
    }
    for (size_t j = 0; j < len; j++)
        buf[j] = (uint8_t)(i + j / 4096);
}

static int crash(const char *path, uint64_t seed)
{
    rng = seed * 0x9e3779b97f4a7c15ull + 1;
    struct img *img;
    struct img_open_opts o = {.flags = IMG_O_RDWR};
    int rc = img_open(path, &o, &img);
    if (rc < 0)
        return die("open", rc);
    uint64_t cs = img_cluster_size(img), slots = img_size(img) / (4 * cs);
    uint8_t *buf = malloc(3 * cs);
    setvbuf(stdout, NULL, _IONBF, 0);
    for (uint64_t i = 0;; i++) {
        if (i == slots) { /* start over: same contents, fresh allocations */
            printf("flushed 0\n");
            rc = img_discard(img, 0, slots * 4 * cs);
            if (rc < 0)
                return die("discard", rc);
            i = 0;
            rc = img_flush(img);
            if (rc < 0)
                return die("flush", rc);
        }
        slot_pattern(i, buf, 3 * cs);
        uint64_t off = i * 4 * cs;
        if (i % 7 == 0)
            rc = img_write_zeroes(img, off, 3 * cs, 0);
        else if (i % 5 == 0)
            rc = img_write_compressed(img, buf, 3 * cs, off);
        else
            rc = img_pwrite(img, buf, 3 * cs, off + 0); /* COW when overwriting */
        if (rc < 0)
            return die("write", rc);
        if (rnd() % 4 == 0) {
            rc = img_flush(img);
            if (rc < 0)
                return die("flush", rc);
            printf("flushed %" PRIu64 "\n", i + 1);
        }
    }
}

static int verify(const char *path, uint64_t n)
{
    struct img *img;
    int rc = img_open(path, NULL, &img);
    if (rc < 0)
        return die("open", rc);
    uint64_t cs = img_cluster_size(img);
    uint8_t *buf = malloc(3 * cs), *want = malloc(3 * cs);
    for (uint64_t i = 0; i < n; i++) {
        rc = img_pread(img, buf, 3 * cs, i * 4 * cs);
        if (rc < 0)
            return die("read", rc);
        slot_pattern(i, want, 3 * cs);
        if (memcmp(buf, want, 3 * cs)) {
            fprintf(stderr, "img_torture: slot %" PRIu64 " lost its flushed data\n", i);
            return 1;
        }
    }
    img_close(img);
    free(buf);
    free(want);
    return 0;
}

/* ---- snapshot steps on a model -------------------------------------------- */

#define SNAP_MAX 8

/* Contents per slot: 0 reads as zeros, else the step that wrote it. */
struct model {
    uint64_t slots;
    uint64_t *active;
    unsigned nsnaps, max_snaps;
    struct {
        char name[24];
        uint64_t *tags;
    } snap[SNAP_MAX];
};

enum snap_op { SOP_WRITE, SOP_ZERO, SOP_COMPRESSED, SOP_FLUSH, SOP_CREATE, SOP_APPLY, SOP_DELETE };

struct snap_step {
    uint64_t n; /* 1, 2, ... */
    enum snap_op op;
    uint64_t slot;
    unsigned snap; /* APPLY, DELETE: index in the model's list */
    char name[24];
};

static const char *const snap_op_names[] = {"write", "zero", "compressed", "flush",
                                            "create", "apply", "delete"};

static void model_init(struct model *m, uint64_t slots, unsigned max_snaps)
{
    memset(m, 0, sizeof(*m));
    m->slots = slots;
    m->max_snaps = max_snaps > SNAP_MAX ? SNAP_MAX : max_snaps;
    m->active = calloc(slots, sizeof(uint64_t));
    for (unsigned i = 0; i < SNAP_MAX; i++)
        m->snap[i].tags = calloc(slots, sizeof(uint64_t));
}

static void model_free(struct model *m)
{
    free(m->active);
    for (unsigned i = 0; i < SNAP_MAX; i++)
        free(m->snap[i].tags);
}

static void model_copy(struct model *dst, const struct model *src)
{
    uint64_t bytes = src->slots * sizeof(uint64_t);
    memcpy(dst->active, src->active, bytes);
    dst->nsnaps = src->nsnaps;
    for (unsigned i = 0; i < SNAP_MAX; i++) {
        memcpy(dst->snap[i].name, src->snap[i].name, sizeof(dst->snap[i].name));
        memcpy(dst->snap[i].tags, src->snap[i].tags, bytes);
    }
}

/* Decide step @n (from the random stream and the model's state). */
static void model_next(const struct model *m, uint64_t n, struct snap_step *s)
{
    memset(s, 0, sizeof(*s));
    s->n = n;
    unsigned r = (unsigned)(rnd() % 16);
    s->slot = rnd() % m->slots;
    unsigned pick = (unsigned)rnd();
    if (r < 4)
        s->op = SOP_WRITE;
    else if (r == 4)
        s->op = SOP_ZERO;
    else if (r == 5)
        s->op = SOP_COMPRESSED;
    else if (r == 6)
        s->op = SOP_FLUSH;
    else if (r < 10)
        s->op = m->nsnaps < m->max_snaps ? SOP_CREATE : SOP_WRITE;
    else if (r < 13)
        s->op = m->nsnaps ? SOP_APPLY : SOP_WRITE;
    else
        s->op = m->nsnaps ? SOP_DELETE : SOP_WRITE;
    if (s->op == SOP_APPLY || s->op == SOP_DELETE) {
        s->snap = pick % m->nsnaps;
        snprintf(s->name, sizeof(s->name), "%s", m->snap[s->snap].name);
    } else if (s->op == SOP_CREATE) {
        snprintf(s->name, sizeof(s->name), "s%" PRIu64, n);
    }
}

static void model_step(struct model *m, const struct snap_step *s)
{
    uint64_t bytes = m->slots * sizeof(uint64_t);
    switch (s->op) {
    case SOP_WRITE:
    case SOP_COMPRESSED:
        m->active[s->slot] = s->n;
        break;
    case SOP_ZERO:
        m->active[s->slot] = 0;
        break;
    case SOP_FLUSH:
        break;
    case SOP_CREATE:
        snprintf(m->snap[m->nsnaps].name, sizeof(m->snap[0].name), "%s", s->name);
        memcpy(m->snap[m->nsnaps].tags, m->active, bytes);
        m->nsnaps++;
        break;
    case SOP_APPLY:
        memcpy(m->active, m->snap[s->snap].tags, bytes);
        break;
    case SOP_DELETE: {
        /* Keep the model's order the image's: later entries move down. */
        uint64_t *t = m->snap[s->snap].tags;
        for (unsigned i = s->snap; i + 1 < m->nsnaps; i++) {
            memcpy(m->snap[i].name, m->snap[i + 1].name, sizeof(m->snap[i].name));
            m->snap[i].tags = m->snap[i + 1].tags;
        }
        m->snap[m->nsnaps - 1].tags = t;
        m->nsnaps--;
        break;
    }
    }
}

static void snap_slot_pattern(uint64_t slot, uint64_t tag, uint8_t *buf, size_t len)
{
    if (tag == 0) {
        memset(buf, 0, len);
        return;
    }
    uint64_t x = (slot * 0x9e3779b97f4a7c15ull) ^ (tag * 0xc2b2ae3d27d4eb4full);
    for (size_t j = 0; j < len; j += 8) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t v = x | 1; /* never a zero word */
        memcpy(buf + j, &v, len - j < 8 ? len - j : 8);
    }
}

static uint64_t snap_slots(uint64_t size, uint64_t cs)
{
    uint64_t n = size / (4 * cs);
    return n > 4096 ? 4096 : n;
}

static int snapcrash(const char *path, uint64_t seed, unsigned max_snaps)
{
    rng = seed * 0x9e3779b97f4a7c15ull + 3;
    struct img *img;
    struct img_open_opts o = {.flags = IMG_O_RDWR};
    int rc = img_open(path, &o, &img);
    if (rc < 0)
        return die("open", rc);
    uint64_t cs = img_cluster_size(img);
    struct model m;
    model_init(&m, snap_slots(img_size(img), cs), max_snaps);
    uint8_t *buf = malloc(3 * cs);
    setvbuf(stdout, NULL, _IONBF, 0);
    for (uint64_t n = 1;; n++) {
        struct snap_step s;
        model_next(&m, n, &s);
        uint64_t off = s.slot * 4 * cs;
        switch (s.op) {
        case SOP_WRITE:
            snap_slot_pattern(s.slot, s.n, buf, 3 * cs);
            rc = img_pwrite(img, buf, 3 * cs, off);
            break;
        case SOP_COMPRESSED:
            snap_slot_pattern(s.slot, s.n, buf, 3 * cs);
            rc = img_write_compressed(img, buf, 3 * cs, off);
            break;
        case SOP_ZERO:
            rc = img_write_zeroes(img, off, 3 * cs, (n & 1) ? IMG_ZERO_MAY_UNMAP : 0);
            break;
        case SOP_FLUSH:
            rc = img_flush(img);
            break;
        case SOP_CREATE:
            rc = img_snapshot_create(img, s.name);
            break;
        case SOP_APPLY:
            rc = img_snapshot_apply(img, s.name);
            break;
        case SOP_DELETE:
            rc = img_snapshot_delete(img, s.name);
            break;
        }
        if (rc == -ERANGE && s.op == SOP_CREATE) {
            printf("done %" PRIu64 " erange\n", n);
            continue;
        }
        if (rc < 0) {
            printf("error %" PRIu64 " %s\n", n, snap_op_names[s.op]);
            return die(snap_op_names[s.op], rc);
        }
        model_step(&m, &s);
        printf("done %" PRIu64 "\n", n);
    }
}

/* Compare the image (or one of its snapshots) with @tags; slots marked in
 * @skip (may be NULL) are not checked. Returns the number that differ. */
static uint64_t compare_view(const char *path, const char *snapshot, const uint64_t *tags,
                             uint64_t slots, const bool *skip, bool quiet)
{
    struct img *img;
    struct img_open_opts o = {.snapshot = snapshot};
    if (img_open(path, &o, &img) < 0) {
        fprintf(stderr, "img_torture: cannot open %s (snapshot %s): %s\n", path,
                snapshot ? snapshot : "-", img_last_error());
        return slots ? slots : 1;
    }
    uint64_t cs = img_cluster_size(img), bad = 0;
    uint8_t *buf = malloc(3 * cs), *want = malloc(3 * cs);
    for (uint64_t i = 0; i < slots; i++) {
        if (skip && skip[i])
            continue;
        snap_slot_pattern(i, tags[i], want, 3 * cs);
        if (img_pread(img, buf, 3 * cs, i * 4 * cs) < 0 || memcmp(buf, want, 3 * cs)) {
            if (!quiet && bad < 5)
                fprintf(stderr, "img_torture: %s: slot %" PRIu64 " differs (want step %" PRIu64 ")\n",
                        snapshot ? snapshot : "active", i, tags[i]);
            bad++;
        }
    }
    free(buf);
    free(want);
    img_close(img);
    return bad;
}

/* Does the image's snapshot list hold exactly the model's names, in order? */
static bool same_names(const struct img_snapshot *list, int n, const struct model *m)
{
    if (n != (int)m->nsnaps)
        return false;
    for (int i = 0; i < n; i++) {
        if (strcmp(list[i].name, m->snap[i].name))
            return false;
    }
    return true;
}

/* Snapshots are compared whole; @skip applies to the active image. */
static bool model_matches(const char *path, const struct model *m, const bool *skip, bool quiet)
{
    if (compare_view(path, NULL, m->active, m->slots, skip, quiet))
        return false;
    for (unsigned i = 0; i < m->nsnaps; i++) {
        if (compare_view(path, m->snap[i].name, m->snap[i].tags, m->slots, NULL, quiet))
            return false;
    }
    return true;
}

static int snapverify(const char *path, uint64_t seed, unsigned max_snaps, const char *log)
{
    rng = seed * 0x9e3779b97f4a7c15ull + 3;
    FILE *f = fopen(log, "r");
    if (!f) {
        perror(log);
        return 1;
    }
    struct img *img;
    int rc = img_open(path, NULL, &img);
    if (rc < 0)
        return die("open", rc);
    struct img_snapshot *list;
    int nlist = img_snapshot_list(img, &list);
    uint64_t cs = img_cluster_size(img), size = img_size(img);
    img_close(img);
    if (nlist < 0)
        return die("snapshot list", nlist);
    struct model m, next;
    model_init(&m, snap_slots(size, cs), max_snaps);
    model_init(&next, m.slots, max_snaps);
    /* Slots written since the last flush or snapshot operation: their new
     * mapping may still have been in the writer's L2 cache when it died. */
    bool *dirty = calloc(m.slots, sizeof(bool));
    /* Replay the completed steps. */
    char line[128];
    uint64_t n = 0;
    while (fgets(line, sizeof(line), f)) {
        uint64_t k;
        char extra[32] = "";
        if (strncmp(line, "error", 5) == 0) {
            fprintf(stderr, "img_torture: the writer failed: %s", line);
            return 1;
        }
        if (sscanf(line, "done %" SCNu64 " %31s", &k, extra) < 1 || k != n + 1) {
            fprintf(stderr, "img_torture: bad log line: %s", line);
            return 1;
        }
        struct snap_step s;
        model_next(&m, k, &s);
        bool refused = strcmp(extra, "erange") == 0;
        if (!refused)
            model_step(&m, &s);
        if (s.op == SOP_WRITE || s.op == SOP_ZERO || s.op == SOP_COMPRESSED)
            dirty[s.slot] = true;
        else if (!refused)
            memset(dirty, 0, m.slots * sizeof(bool));
        n = k;
    }
    fclose(f);
    /* The step under way when the writer died. */
    struct snap_step s;
    model_next(&m, n + 1, &s);
    model_copy(&next, &m);
    model_step(&next, &s);
    bool ok;
    const char *which = "before";
    if (s.op == SOP_CREATE || s.op == SOP_DELETE || s.op == SOP_APPLY) {
        /* All or nothing; once done, everything written before it is in. */
        bool before = same_names(list, nlist, &m) && model_matches(path, &m, dirty, true);
        bool after = same_names(list, nlist, &next) && model_matches(path, &next, NULL, true);
        ok = before || after;
        if (!before && after)
            which = "after";
        if (!ok) {
            fprintf(stderr, "img_torture: step %" PRIu64 " (%s %s) neither happened nor did not\n",
                    s.n, snap_op_names[s.op], s.name);
            fprintf(stderr, "img_torture: against the state before it:\n");
            model_matches(path, &m, dirty, false);
            fprintf(stderr, "img_torture: against the state after it:\n");
            model_matches(path, &next, NULL, false);
        }
    } else {
        if (s.op != SOP_FLUSH)
            dirty[s.slot] = true;
        ok = same_names(list, nlist, &m) && model_matches(path, &m, dirty, false);
        if (!ok)
            fprintf(stderr, "img_torture: the image differs from step %" PRIu64 "\n", n);
    }
    printf("%" PRIu64 " steps; killed in step %" PRIu64 " (%s, %s); %u snapshots\n", n, s.n,
           snap_op_names[s.op], which, (unsigned)nlist);
    free(list);
    free(dirty);
    model_free(&m);
    model_free(&next);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && !strcmp(argv[1], "mirror"))
        return mirror(argv[2], argv[3], strtoull(argv[4], NULL, 0), strtoull(argv[5], NULL, 0),
                      argc > 6 ? argv[6] : "w");
    if (argc == 4 && !strcmp(argv[1], "crash"))
        return crash(argv[2], strtoull(argv[3], NULL, 0));
    if (argc == 4 && !strcmp(argv[1], "verify"))
        return verify(argv[2], strtoull(argv[3], NULL, 0));
    if (argc == 5 && !strcmp(argv[1], "snapcrash"))
        return snapcrash(argv[2], strtoull(argv[3], NULL, 0), (unsigned)atoi(argv[4]));
    if (argc == 6 && !strcmp(argv[1], "snapverify"))
        return snapverify(argv[2], strtoull(argv[3], NULL, 0), (unsigned)atoi(argv[4]), argv[5]);
    fprintf(stderr, "usage: img_torture mirror IMAGE REF SEED COUNT [OPS] | crash IMAGE SEED | "
                    "verify IMAGE N | snapcrash IMAGE SEED MAXSNAPS | "
                    "snapverify IMAGE SEED MAXSNAPS LOG\n");
    return 2;
}
