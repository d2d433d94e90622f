/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2_compress.c — compressed clusters: raw deflate with a 4 KiB window
 * (compression type 0) and zstd frames (type 1), as qcow2 defines them.
 * Decompression stops once a cluster is full: what follows in the last
 * sector may belong to the next compressed cluster.
 */
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "qcow2_internal.h"

ssize_t qcow2__compress(int type, const void *in, size_t in_len, void *out, size_t out_len)
{
    if (type == 1) {
        size_t r = ZSTD_compress(out, out_len, in, in_len, 1);
        if (ZSTD_isError(r))
            return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? -ENOSPC : -EIO;
        return (ssize_t)r;
    }
    z_stream s;
    memset(&s, 0, sizeof(s));
    if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    s.next_in = (Bytef *)(uintptr_t)in;
    s.avail_in = (uInt)in_len;
    s.next_out = out;
    s.avail_out = (uInt)out_len;
    int r = deflate(&s, Z_FINISH);
    ssize_t n = r == Z_STREAM_END ? (ssize_t)(out_len - s.avail_out) : -ENOSPC;
    deflateEnd(&s);
    return n;
}

int qcow2__decompress(int type, const void *in, size_t in_len, void *out, size_t out_len)
{
    if (type == 1) {
        ZSTD_DCtx *d = ZSTD_createDCtx();
        if (!d)
            return -ENOMEM;
        ZSTD_inBuffer ib = {in, in_len, 0};
        ZSTD_outBuffer ob = {out, out_len, 0};
        int rc = -EINVAL;
        while (ib.pos < ib.size) {
            size_t r = ZSTD_decompressStream(d, &ob, &ib);
            if (ZSTD_isError(r))
                break;
            if (ob.pos == ob.size) {
                rc = 0;
                break;
            }
            if (r == 0 && ib.pos == ib.size)
                break;
        }
        if (ob.pos == ob.size)
            rc = 0;
        ZSTD_freeDCtx(d);
        return rc;
    }
    z_stream s;
    memset(&s, 0, sizeof(s));
    if (inflateInit2(&s, -12) != Z_OK)
        return -ENOMEM;
    s.next_in = (Bytef *)(uintptr_t)in;
    s.avail_in = (uInt)in_len;
    s.next_out = out;
    s.avail_out = (uInt)out_len;
    int r = inflate(&s, Z_FINISH);
    int rc = ((r == Z_STREAM_END || r == Z_BUF_ERROR) && s.avail_out == 0) ? 0 : -EINVAL;
    inflateEnd(&s);
    return rc;
}
