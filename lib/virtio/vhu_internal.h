/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the vhost-user backend's files; not public. */
#ifndef KK_VHU_INTERNAL_H
#define KK_VHU_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kk_log.h"
#include "vhu.h"

KK_LOG_COMPONENT_DECLARE(vhu_log);

#define VHU_INFLIGHT_VERSION 1

/* Bytes of one queue's inflight region (a multiple of 64). */
size_t vhu__inflight_region_size(bool packed, uint16_t queue_size);

/*
 * A queue with a region (q->inflight) starts: validate what an earlier
 * backend left there, roll back an update it was killed in the middle of,
 * set the ring positions to resume at, and list the requests to resubmit.
 * A fresh or unusable region is initialised (an unusable one is logged:
 * its requests are lost). Returns 0 or -ENOMEM (then not tracking).
 */
int vhu__inflight_start(struct vhu_queue *q, const char *dev_name);
void vhu__inflight_stop(struct vhu_queue *q);

/* Record chains vq_pop() returned; @first_pos: the packed ring position
 * the pop started at (unused for split rings). */
void vhu__inflight_popped(struct vhu_queue *q, const struct vq_chain *chains, unsigned n,
                          uint16_t first_pos);

/* Around vq_push(): record the batch first, then mark it done. */
void vhu__inflight_push_begin(struct vhu_queue *q, const struct vq_used *used, unsigned n);
void vhu__inflight_push_end(struct vhu_queue *q, const struct vq_used *used, unsigned n);

#endif /* KK_VHU_INTERNAL_H */
