/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes every sample message of both versions as one file into DIR
 * (tests/fuzz/corpus/openflow/): usage openflow_corpus_gen DIR.
 */
#include <stdio.h>

#include "ofp_samples.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    static const uint8_t versions[] = {OFP10_VERSION, OFP13_VERSION};
    int count = 0;
    for (int v = 0; v < 2; v++) {
        struct ofp_msg s[OFP_SAMPLES_MAX];
        size_t n = ofp_samples(versions[v], s, OFP_SAMPLES_MAX);
        for (size_t i = 0; i < n; i++) {
            struct ofp_buf b;
            ofp_buf_init(&b);
            if (ofp_encode(&s[i], &b, NULL) != 0) {
                fprintf(stderr, "sample %zu of v%u does not encode\n", i, versions[v]);
                return 1;
            }
            char name[64], path[512];
            snprintf(path, sizeof(path), "%s/v%u-%02zu-%s.bin", argv[1], versions[v], i,
                     ofp_sample_name(&s[i], name, sizeof(name)));
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
                perror(path);
                return 1;
            }
            ofp_buf_free(&b);
            count++;
        }
    }
    printf("%d files\n", count);
    return 0;
}
