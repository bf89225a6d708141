/* The lstat floor for bench/run.sh: the least work that can tell whether a tree still matches
 * what was applied. Reads a manifest (one line per file: PATH TAB SIZE TAB MTIME_NS TAB MODE,
 * PATH relative to ROOT, MODE octal st_mode; paths hold no tab or newline), lstat()s every PATH
 * under ROOT (fstatat on a descriptor of ROOT) and counts the files whose size, mtime or mode
 * differ, or which are gone.
 *
 *   floor MANIFEST ROOT            one pass; prints "differences N"
 *   floor -n K MANIFEST ROOT       K passes, each reading the manifest again; prints
 *                                  "differences N passes K cpu_ns_per_pass C wall_ns_per_pass W"
 *                                  (CLOCK_PROCESS_CPUTIME_ID and CLOCK_MONOTONIC around the passes)
 * Exit status 0 when it ran (whatever N is), 2 on bad use or an unreadable manifest or root.
 * Built by run.sh: cc -O2 -o floor floor.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *read_all(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
        if (n + 1 == cap) { /* grew since fstat */
            char *b = realloc(buf, cap *= 2);
            if (!b) free(buf);
            buf = b;
        }
    }
    close(fd);
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

/* One pass; -1 when the manifest cannot be read. */
static long pass(const char *manifest, int rootfd) {
    size_t len;
    char *buf = read_all(manifest, &len);
    if (!buf) return -1;
    long diffs = 0;
    char *p = buf, *end = buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        *nl = '\0';
        char *t1 = strchr(p, '\t');
        if (t1) {
            *t1 = '\0';
            char *q = t1 + 1;
            long long size = strtoll(q, &q, 10);
            long long mtime = strtoll(q + 1, &q, 10);
            unsigned long mode = strtoul(q + 1, &q, 8);
            struct stat st;
            if (fstatat(rootfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_size != size ||
                (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec != mtime || st.st_mode != mode)
                ++diffs;
        }
        p = nl + 1;
    }
    free(buf);
    return diffs;
}

static long long ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    long k = 0;
    int i = 1;
    if (argc > 2 && !strcmp(argv[1], "-n")) {
        k = strtol(argv[2], NULL, 10);
        i = 3;
        if (k < 1) {
            fprintf(stderr, "floor: -n needs a positive number\n");
            return 2;
        }
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: floor [-n K] MANIFEST ROOT\n");
        return 2;
    }
    int rootfd = open(argv[i + 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        perror(argv[i + 1]);
        return 2;
    }
    long long c0 = ns(CLOCK_PROCESS_CPUTIME_ID), w0 = ns(CLOCK_MONOTONIC);
    long diffs = 0;
    for (long j = 0; j < (k ? k : 1); ++j) {
        diffs = pass(argv[i], rootfd);
        if (diffs < 0) {
            perror(argv[i]);
            return 2;
        }
    }
    long long c1 = ns(CLOCK_PROCESS_CPUTIME_ID), w1 = ns(CLOCK_MONOTONIC);
    if (k)
        printf("differences %ld passes %ld cpu_ns_per_pass %lld wall_ns_per_pass %lld\n", diffs, k, (c1 - c0) / k, (w1 - w0) / k);
    else
        printf("differences %ld\n", diffs);
    return 0;
}
