/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_err.h"
#include "kk_log.h"
#include "vq_mem.h"

KK_LOG_COMPONENT_DECLARE(virtio_log);

int vq_mem_create(uint32_t max_regions, struct vq_mem **out)
{
    if (!out || max_regions == 0 || max_regions > VQ_MEM_MAX_REGIONS)
        return -EINVAL;
    struct vq_mem *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->regions = calloc(max_regions, sizeof(*m->regions));
    if (!m->regions) {
        free(m);
        return -ENOMEM;
    }
    m->max = max_regions;
    *out = m;
    return 0;
}

static void region_release(struct vq_mem_region *r)
{
    if (r->map_base)
        munmap(r->map_base, r->map_len);
    if (r->fd >= 0)
        close(r->fd);
    r->map_base = NULL;
    r->fd = -1;
}

void vq_mem_destroy(struct vq_mem *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->n; i++)
        region_release(&m->regions[i]);
    free(m->regions);
    free(m);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Geometry checks shared by both ways of adding a region. */
static int check_desc(const struct vq_mem *m, const struct vq_mem_region_desc *d)
{
    uint64_t end;
    if (d->size == 0)
        return -EINVAL;
    if (__builtin_add_overflow(d->gpa, d->size, &end) ||
        __builtin_add_overflow(d->uva, d->size, &end) ||
        __builtin_add_overflow(d->mmap_offset, d->size, &end))
        return -EINVAL;
    if (m->n >= m->max)
        return -ENOSPC;
    for (uint32_t i = 0; i < m->n; i++) {
        const struct vq_mem_region_desc *o = &m->regions[i].desc;
        if (ranges_overlap(d->gpa, d->size, o->gpa, o->size) ||
            ranges_overlap(d->uva, d->size, o->uva, o->size))
            return -EEXIST;
    }
    return 0;
}

static void insert_sorted(struct vq_mem *m, const struct vq_mem_region *r)
{
    uint32_t i = m->n;
    while (i > 0 && m->regions[i - 1].desc.gpa > r->desc.gpa) {
        m->regions[i] = m->regions[i - 1];
        i--;
    }
    m->regions[i] = *r;
    m->n++;
}

int vq_mem_add_region(struct vq_mem *m, const struct vq_mem_region_desc *d, int fd)
{
    int rc = check_desc(m, d);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = kk_neg_errno();
        close(fd);
        return rc;
    }
    /* Guest RAM is a memfd, a hugetlbfs or tmpfs file: regular files whose
     * size we can check. A block or character device could be shorter
     * than it claims and fault later; refuse anything else. */
    if (!S_ISREG(st.st_mode)) {
        KK_LOGW(virtio_log, "memory region gpa 0x%llx: descriptor is not a regular file",
                (unsigned long long)d->gpa);
        close(fd);
        return -EINVAL;
    }
    /* Mapping past the end of the file would turn our accesses into SIGBUS:
     * a frontend must not be able to crash us with a short file. */
    uint64_t need = d->mmap_offset + d->size;
    if ((uint64_t)st.st_size < need) {
        KK_LOGW(virtio_log, "memory region gpa 0x%llx: file holds %lld bytes, region needs %llu",
                (unsigned long long)d->gpa, (long long)st.st_size, (unsigned long long)need);
        close(fd);
        return -EINVAL;
    }
    if (need > SIZE_MAX) {
        close(fd);
        return -EINVAL;
    }
    /* Map from offset 0: mmap_offset need not be page aligned. Huge-page
     * backed files round the length up to their block size. */
    size_t page = (size_t)st.st_blksize > 4096 ? (size_t)st.st_blksize : 4096;
    size_t len = (size_t)kk_align_up(need, page);
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (base == MAP_FAILED) {
        rc = kk_neg_errno();
        KK_LOGW(virtio_log, "memory region gpa 0x%llx size %llu: mmap: %s",
                (unsigned long long)d->gpa, (unsigned long long)d->size, kk_strerror(rc));
        close(fd);
        return rc;
    }
    struct vq_mem_region r = {
        .desc = *d,
        .hva = (uint8_t *)base + d->mmap_offset,
        .map_base = base,
        .map_len = len,
        .fd = fd,
        .refs = 1,
    };
    insert_sorted(m, &r);
    return 0;
}

int vq_mem_add_mapped(struct vq_mem *m, const struct vq_mem_region_desc *d, void *hva)
{
    if (!hva)
        return -EINVAL;
    int rc = check_desc(m, d);
    if (rc < 0)
        return rc;
    struct vq_mem_region r = {.desc = *d, .hva = hva, .map_base = NULL, .map_len = 0, .fd = -1,
                              .refs = 1};
    insert_sorted(m, &r);
    return 0;
}

struct vq_mem_region *vq_mem_find_region(struct vq_mem *m, const struct vq_mem_region_desc *d)
{
    for (uint32_t i = 0; i < m->n; i++) {
        struct vq_mem_region *r = &m->regions[i];
        if (r->desc.gpa == d->gpa && r->desc.size == d->size && r->desc.uva == d->uva)
            return r;
    }
    return NULL;
}

int vq_mem_remove_region(struct vq_mem *m, const struct vq_mem_region_desc *d)
{
    for (uint32_t i = 0; i < m->n; i++) {
        struct vq_mem_region *r = &m->regions[i];
        if (r->desc.gpa == d->gpa && r->desc.size == d->size && r->desc.uva == d->uva) {
            region_release(r);
            memmove(r, r + 1, (m->n - i - 1) * sizeof(*r));
            m->n--;
            return 0;
        }
    }
    return -ENOENT;
}

int vq_mem_clone_unowned(const struct vq_mem *m, struct vq_mem **out)
{
    struct vq_mem *c;
    int rc = vq_mem_create(m->max, &c);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < m->n; i++) {
        c->regions[i] = m->regions[i];
        c->regions[i].map_base = NULL;
        c->regions[i].fd = -1;
    }
    c->n = m->n;
    *out = c;
    return 0;
}

/* The region containing @gpa, or NULL. Binary search over sorted regions. */
static const struct vq_mem_region *find_gpa(const struct vq_mem *m, uint64_t gpa)
{
    uint32_t lo = 0, hi = m->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const struct vq_mem_region *r = &m->regions[mid];
        if (gpa < r->desc.gpa)
            hi = mid;
        else if (gpa - r->desc.gpa >= r->desc.size)
            lo = mid + 1;
        else
            return r;
    }
    return NULL;
}

void *vq_mem_gpa_to_hva(const struct vq_mem *m, uint64_t gpa, uint64_t len)
{
    const struct vq_mem_region *r = find_gpa(m, gpa);
    if (!r)
        return NULL;
    uint64_t off = gpa - r->desc.gpa;
    if (len > r->desc.size - off)
        return NULL;
    return r->hva + off;
}

void *vq_mem_uva_to_hva(const struct vq_mem *m, uint64_t uva, uint64_t len)
{
    /* Regions are sorted by GPA, not UVA; ring lookups are rare (setup). */
    for (uint32_t i = 0; i < m->n; i++) {
        const struct vq_mem_region *r = &m->regions[i];
        if (uva >= r->desc.uva && uva - r->desc.uva < r->desc.size) {
            uint64_t off = uva - r->desc.uva;
            if (len > r->desc.size - off)
                return NULL;
            return r->hva + off;
        }
    }
    return NULL;
}

/* The host address of @gpa and how much of [gpa, gpa + len) its region
 * holds from there: the one step of every range walk. */
static int next_chunk(const struct vq_mem *m, uint64_t gpa, uint64_t len, uint8_t **hva,
                      uint64_t *chunk)
{
    const struct vq_mem_region *r = find_gpa(m, gpa);
    if (!r)
        return -EFAULT;
    uint64_t off = gpa - r->desc.gpa;
    *hva = r->hva + off;
    *chunk = KK_MIN(len, r->desc.size - off);
    return 0;
}

int vq_mem_gpa_to_iov(const struct vq_mem *m, uint64_t gpa, uint64_t len, struct iovec *iov,
                      unsigned max)
{
    unsigned n = 0;
    while (len > 0) {
        uint8_t *hva;
        uint64_t chunk;
        if (next_chunk(m, gpa, len, &hva, &chunk) < 0)
            return -EFAULT;
        if (n == max)
            return -ENOBUFS;
        iov[n].iov_base = hva;
        iov[n].iov_len = (size_t)chunk;
        n++;
        gpa += chunk; /* cannot overflow: the region's end did not */
        len -= chunk;
    }
    return (int)n;
}

int vq_mem_read(const struct vq_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
    uint8_t *out = dst;
    while (len > 0) {
        uint8_t *hva;
        uint64_t chunk;
        if (next_chunk(m, gpa, len, &hva, &chunk) < 0)
            return -EFAULT;
        memcpy(out, hva, (size_t)chunk);
        out += chunk;
        gpa += chunk;
        len -= chunk;
    }
    return 0;
}

bool vq_mem_hva_to_gpa(const struct vq_mem *m, const void *hva, uint64_t *gpa)
{
    const uint8_t *p = hva;
    for (uint32_t i = 0; i < m->n; i++) {
        const struct vq_mem_region *r = &m->regions[i];
        if (p >= r->hva && (uint64_t)(p - r->hva) < r->desc.size) {
            *gpa = r->desc.gpa + (uint64_t)(p - r->hva);
            return true;
        }
    }
    return false;
}

const struct vq_mem_region *vq_mem_region_of(const struct vq_mem *m, uint64_t gpa)
{
    return find_gpa(m, gpa);
}
