// libFuzzer front end for the .NET harnesses (SharpFuzz's out-of-process libFuzzer protocol).
//
// libFuzzer runs in this process; the harness runs in a child .NET process started once:
//   $DEMI_FUZZ_DOTNET $DEMI_FUZZ_DLL $DEMI_FUZZ_TARGET
// The segment's id and the two descriptors reach the child in __LIBFUZZER_SHM_ID,
// __LIBFUZZER_CONTROL_PIPE_ID and __LIBFUZZER_STATUS_PIPE_ID. They share one System V segment: the first COVERAGE_SIZE bytes are the edge counters that
// SharpFuzz's instrumentation bumps in the child, the rest holds the input. Per input, this side
// writes its length (4 bytes) on fd 198 and reads the child's verdict (4 bytes, 0 = passed) on fd
// 199; after each run the counters are copied into libFuzzer's extra-counters section, which is
// the coverage libFuzzer sees. A failed verdict is reported to libFuzzer as a crash (trap), so it
// saves the input as crash-*. The child signals readiness by writing 4 bytes before the first input.
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define COVERAGE_SIZE (1 << 16)
#define INPUT_SIZE (1 << 20)
#define CONTROL_FD 198
#define STATUS_FD 199

__attribute__((used, section("__libfuzzer_extra_counters"))) uint8_t demi_coverage[COVERAGE_SIZE];

static int control_fd = -1;
static int status_fd = -1;
static int segment_id = -1;
static uint8_t *segment;
static pid_t child;

static void fail(const char *what)
{
    fprintf(stderr, "demi-libfuzzer: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void remove_segment(void)
{
    if (segment_id >= 0)
        shmctl(segment_id, IPC_RMID, NULL);
    if (child > 0)
        kill(child, SIGKILL);
}

static int read_full(int fd, void *buffer, size_t length)
{
    size_t done = 0;
    while (done < length)
    {
        ssize_t n = read(fd, (char *)buffer + done, length - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

static int write_full(int fd, const void *buffer, size_t length)
{
    size_t done = 0;
    while (done < length)
    {
        ssize_t n = write(fd, (const char *)buffer + done, length - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dotnet = getenv("DEMI_FUZZ_DOTNET");
    const char *dll = getenv("DEMI_FUZZ_DLL");
    const char *target = getenv("DEMI_FUZZ_TARGET");
    if (!dotnet || !dll || !target)
    {
        fprintf(stderr, "demi-libfuzzer: set DEMI_FUZZ_DOTNET, DEMI_FUZZ_DLL and DEMI_FUZZ_TARGET (fuzz/run.sh does)\n");
        exit(1);
    }
    int control[2], status[2];
    if (pipe(control) || pipe(status))
        fail("pipe");
    segment_id = shmget(IPC_PRIVATE, COVERAGE_SIZE + INPUT_SIZE, IPC_CREAT | IPC_EXCL | 0600);
    if (segment_id < 0)
        fail("shmget");
    atexit(remove_segment);
    segment = shmat(segment_id, NULL, 0);
    if (segment == (void *)-1)
        fail("shmat");
    child = fork();
    if (child < 0)
        fail("fork");
    if (child == 0)
    {
        if (dup2(control[0], CONTROL_FD) < 0 || dup2(status[1], STATUS_FD) < 0)
            fail("dup2");
        close(control[0]);
        close(control[1]);
        close(status[0]);
        close(status[1]);
        char id[16];
        snprintf(id, sizeof id, "%d", segment_id);
        setenv("__LIBFUZZER_SHM_ID", id, 1);
        setenv("__LIBFUZZER_CONTROL_PIPE_ID", "198", 1);
        setenv("__LIBFUZZER_STATUS_PIPE_ID", "199", 1);
        execlp(dotnet, dotnet, dll, target, (char *)NULL);
        fail("exec");
    }
    close(control[0]);
    close(status[1]);
    control_fd = control[1];
    status_fd = status[0];
    int32_t ready;
    if (read_full(status_fd, &ready, sizeof ready))
    {
        fprintf(stderr, "demi-libfuzzer: the harness exited before it was ready\n");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_SIZE)
        size = INPUT_SIZE;
    memset(segment, 0, COVERAGE_SIZE);
    memcpy(segment + COVERAGE_SIZE, data, size);
    int32_t length = (int32_t)size;
    if (write_full(control_fd, &length, sizeof length))
    {
        fprintf(stderr, "demi-libfuzzer: the harness is gone\n");
        __builtin_trap();
    }
    int32_t verdict;
    if (read_full(status_fd, &verdict, sizeof verdict))
    {
        fprintf(stderr, "demi-libfuzzer: the harness died on this input\n");
        __builtin_trap();
    }
    memcpy(demi_coverage, segment, COVERAGE_SIZE);
    if (verdict != 0)
        __builtin_trap(); // the harness printed the exception; libFuzzer saves the input
    return 0;
}
