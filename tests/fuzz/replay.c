/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs a fuzz target over files (a corpus) without libFuzzer, so that every
 * build — including the sanitizer build in `make test` — replays the corpus
 * as a regression test. Usage: <target> FILE|DIR...  Prints TAP: one case
 * for the whole corpus (a crashing input aborts the run, naming the file).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    /* Named before it runs, so a crash report says which input it was. */
    fprintf(stderr, "replay: %s\n", path);
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        if (r == 0)
            break;
        len += r;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int failed = 0;
    char *files[4096];
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d && (e = readdir(d)) && nfiles < 4096) {
                if (e->d_name[0] == '.')
                    continue;
                char *p;
                if (asprintf(&p, "%s/%s", argv[i], e->d_name) > 0)
                    files[nfiles++] = p;
            }
            if (d)
                closedir(d);
        } else if (nfiles < 4096) {
            files[nfiles++] = strdup(argv[i]);
        }
    }
    qsort(files, (size_t)nfiles, sizeof(files[0]), cmp);
    printf("1..1\n");
    for (int i = 0; i < nfiles; i++) {
        failed += run_file(files[i]);
        free(files[i]);
    }
    printf("%sok 1 - %d corpus inputs replayed%s\n", failed || nfiles == 0 ? "not " : "", nfiles,
           failed ? " (some could not be read)" : "");
    return failed || nfiles == 0 ? 1 : 0;
}
