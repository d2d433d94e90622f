/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vq_mem.h — a guest's memory as the device side sees it.
 *
 * A vhost-user frontend (QEMU) shares guest RAM as regions: a file
 * descriptor, the guest-physical address (GPA) range the region covers,
 * the frontend's own virtual address (UVA) for it, and the offset of the
 * region inside the file. The backend maps each region and translates
 * guest addresses to host addresses through this table.
 *
 * Every translation checks that the whole range [addr, addr + len) lies in
 * mapped memory; a range that crosses from one region into the next is
 * split into several iovecs. Nothing here trusts the frontend: region
 * geometry is validated (sizes, overflow, overlaps, the file being large
 * enough to back the mapping) before anything is mapped.
 *
 * Threads: a table is immutable once built and may be read by any number of
 * threads. Changing the memory layout means building a new table (see
 * vq_mem_clone()) and retiring the old one after no thread uses it.
 */
#ifndef KK_VQ_MEM_H
#define KK_VQ_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* vhost-user allows up to 509 slots with CONFIGURE_MEM_SLOTS. */
#define VQ_MEM_MAX_REGIONS 509

/* A region as the frontend describes it (vhost-user memory region). */
struct vq_mem_region_desc {
    uint64_t gpa;         /* guest-physical start */
    uint64_t size;        /* bytes */
    uint64_t uva;         /* frontend virtual address of the start */
    uint64_t mmap_offset; /* offset of the start within the file */
};

struct vq_mem_region {
    struct vq_mem_region_desc desc;
    uint8_t *hva;      /* host address of desc.gpa */
    void *map_base;    /* our mapping (NULL for regions not owned) */
    size_t map_len;
    int fd;            /* owned; -1 when the region is not owned */
    uint32_t refs;     /* times the same region was added (vhost-user) */
};

struct vq_mem {
    uint32_t n;                 /* regions, sorted by gpa */
    uint32_t max;               /* slots allowed */
    struct vq_mem_region *regions;
};

/* An empty table with room for @max_regions (1..VQ_MEM_MAX_REGIONS). */
int vq_mem_create(uint32_t max_regions, struct vq_mem **out);

/* Unmap and close every owned region and free. Accepts NULL. */
void vq_mem_destroy(struct vq_mem *m);

/*
 * Map @fd (ownership passes to the table on success and on failure) at
 * @d and add the region. Returns 0, or
 *   -EINVAL  zero size, address arithmetic overflows, or the file is too
 *            small to back [mmap_offset, mmap_offset + size);
 *   -EEXIST  the GPA or UVA range overlaps an existing region;
 *   -ENOSPC  the table is full;
 *   -errno   from fstat/mmap.
 */
int vq_mem_add_region(struct vq_mem *m, const struct vq_mem_region_desc *d, int fd);

/*
 * Add a region already mapped by the caller (no fd, not unmapped on
 * destroy): for frontends and tests, whose memory is their own.
 */
int vq_mem_add_mapped(struct vq_mem *m, const struct vq_mem_region_desc *d, void *hva);

/* The region with exactly @d's gpa, size and uva, or NULL. */
struct vq_mem_region *vq_mem_find_region(struct vq_mem *m, const struct vq_mem_region_desc *d);

/*
 * Remove the region matching @d (gpa, size and uva must match, as for
 * vhost-user REM_MEM_REG). Returns 0 or -ENOENT.
 */
int vq_mem_remove_region(struct vq_mem *m, const struct vq_mem_region_desc *d);

/*
 * A new table with the same regions (mappings shared, not owned: the
 * original keeps ownership). Used to publish a changed layout while the
 * old one is still being read. Returns 0 or -ENOMEM.
 */
int vq_mem_clone_unowned(const struct vq_mem *m, struct vq_mem **out);

/*
 * Host address of [gpa, gpa + len) if the whole range lies within one
 * region; NULL otherwise (unmapped, or crossing regions). len 0 is valid
 * if gpa is mapped.
 */
void *vq_mem_gpa_to_hva(const struct vq_mem *m, uint64_t gpa, uint64_t len);

/* The same for a frontend virtual address (vring addresses). */
void *vq_mem_uva_to_hva(const struct vq_mem *m, uint64_t uva, uint64_t len);

/*
 * Translate [gpa, gpa + len) into host iovecs, one per region crossed,
 * appended at iov[0..]. Returns the number of iovecs used (0 for len 0), or
 *   -EFAULT  part of the range is not guest memory;
 *   -ENOBUFS more than @max iovecs would be needed.
 */
int vq_mem_gpa_to_iov(const struct vq_mem *m, uint64_t gpa, uint64_t len, struct iovec *iov,
                      unsigned max);

/* The region containing @gpa, or NULL. */
const struct vq_mem_region *vq_mem_region_of(const struct vq_mem *m, uint64_t gpa);

/* Guest-physical address of host address @hva, if it lies in a region. */
bool vq_mem_hva_to_gpa(const struct vq_mem *m, const void *hva, uint64_t *gpa);

/* Copy @len bytes at @gpa (possibly crossing regions) to @dst. 0 or -EFAULT. */
int vq_mem_read(const struct vq_mem *m, uint64_t gpa, void *dst, uint64_t len);

#endif /* KK_VQ_MEM_H */
