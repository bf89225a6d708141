/* rusage -o FILE [--] CMD [ARG...]: runs CMD, then appends one line to FILE (O_APPEND, one
 * write, so concurrent runs do not interleave): "wall_us user_us sys_us maxrss_kib exit" with
 * CMD's resource usage from wait4() -- CMD and every descendant it waited for, in microseconds.
 * Exits with CMD's status. bench/fleet/run.sh uses it on the client side of each measured
 * command and, as sshd's ForceCommand, around every git-upload-pack / git-receive-pack. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long us(struct timeval t) { return (long long)t.tv_sec * 1000000 + t.tv_usec; }

int main(int argc, char **argv) {
    int i = 1;
    const char *out = NULL;
    if (i + 1 < argc && strcmp(argv[i], "-o") == 0) { out = argv[i + 1]; i += 2; }
    if (i < argc && strcmp(argv[i], "--") == 0) i++;
    if (!out || i >= argc) { fprintf(stderr, "usage: rusage -o FILE [--] CMD [ARG...]\n"); return 2; }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) { perror("rusage: fork"); return 127; }
    if (pid == 0) {
        execvp(argv[i], argv + i);
        fprintf(stderr, "rusage: %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0)
        if (errno != EINTR) { perror("rusage: wait4"); return 127; }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    long long wall = (long long)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
    char line[160];
    int n = snprintf(line, sizeof line, "%lld %lld %lld %ld %d\n", wall, us(ru.ru_utime), us(ru.ru_stime), ru.ru_maxrss, rc);
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line, (size_t)n) != n) perror("rusage: log");
    if (fd >= 0) close(fd);
    return rc;
}
