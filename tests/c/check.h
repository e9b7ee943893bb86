/* check.h - tiny assertion helpers shared by the C tests of libdemi. */
#ifndef DEMI_TEST_CHECK_H
#define DEMI_TEST_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed;
static int check_failed;

/* Records one assertion; prints failures with their location. */
#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (cond) {                                                                    \
            check_passed++;                                                            \
        } else {                                                                       \
            check_failed++;                                                            \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
        }                                                                              \
    } while (0)

/* Asserts that an expression returns a given errno (0 for success). */
#define CHECK_ERR(expr, expected)                                                      \
    do {                                                                               \
        int check_rc_ = (expr);                                                        \
        if (check_rc_ == (expected)) {                                                 \
            check_passed++;                                                            \
        } else {                                                                       \
            check_failed++;                                                            \
            fprintf(stderr, "FAIL %s:%d: %s returned %d (%s), expected %d (%s)\n",     \
                    __FILE__, __LINE__, #expr, check_rc_, strerror(check_rc_),         \
                    (expected), strerror(expected));                                   \
        }                                                                              \
    } while (0)

/* Like CHECK_ERR but stops the program: later steps depend on it. */
#define REQUIRE_OK(expr)                                                               \
    do {                                                                               \
        int require_rc_ = (expr);                                                      \
        if (require_rc_ != 0) {                                                        \
            fprintf(stderr, "FATAL %s:%d: %s returned %d (%s)\n", __FILE__, __LINE__,  \
                    #expr, require_rc_, strerror(require_rc_));                        \
            exit(2);                                                                   \
        }                                                                              \
        check_passed++;                                                                \
    } while (0)

/* Prints the summary line and returns the exit code. */
static inline int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}

#endif
